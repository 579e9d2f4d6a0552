# The portal serving HTTPS itself ([portal] tls_cert and tls_key) with a
# certificate from a CA made for this run: links are https://, curl
# verifying against the CA gets the sign-in page, the sign-in's cookie is
# Secure, a client refusing the certificate and plain HTTP to the port
# get no answer (one log line counts both), and the
# configuration check refuses a shared key file and a lone certificate.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
CA=$T/ca
mkdir -p "$CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$CA/ca.key" -out "$CA/ca.pem" -days 2 -subj "/CN=ISMS portal test CA" \
	>>"$CA/openssl.log" 2>&1 || { cat "$CA/openssl.log"; fail "openssl: CA"; }
printf 'subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' >"$CA/ext"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$CA/key.pem" -out "$CA/csr.pem" -subj "/CN=127.0.0.1" >>"$CA/openssl.log" 2>&1 &&
	openssl x509 -req -in "$CA/csr.pem" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" \
		-CAcreateserial -days 2 -extfile "$CA/ext" -out "$CA/cert.pem" >>"$CA/openssl.log" 2>&1 ||
	{ cat "$CA/openssl.log"; fail "openssl: certificate"; }
chmod 600 "$CA/key.pem" "$CA/ca.key"
new_db "$DB"
"$ISMSCTL" --db "$DB" seed config/demo/seed.txt >/dev/null
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=https://127.0.0.1:$PORT
conf() { # conf KEYFILE [CERT]: the configuration into $T/ismsd.conf
	cat >"$T/ismsd.conf" <<EOC
[store]
$(store_conf "$DB")
[portal]
listen = 127.0.0.1:$PORT
tls_cert = ${2-$CA/cert.pem}
tls_key = $1
EOC
}

# the configuration check: a key readable by others, a lone certificate
cp "$CA/key.pem" "$T/shared.pem"
chmod 644 "$T/shared.pem"
conf "$T/shared.pem"
"$ISMSD" --check-config -c "$T/ismsd.conf" >"$T/out" 2>&1 && fail "a shared key file was accepted"
expect_in "$T/out" "portal.tls_key: secret file $T/shared.pem is readable by group or others"
conf ""
"$ISMSD" --check-config -c "$T/ismsd.conf" >"$T/out" 2>&1 && fail "a certificate without a key was accepted"
expect_in "$T/out" "portal.tls_cert and portal.tls_key go together"

conf "$CA/key.pem"
"$ISMSD" -c "$T/ismsd.conf" >"$T/ismsd.log" 2>&1 &
ISMSD_PID=$!
PIDS="$PIDS $ISMSD_PID"
wait_for grep -q "portal: listening" "$T/ismsd.log" || { cat "$T/ismsd.log"; fail "portal not started"; }
expect_in "$T/ismsd.log" "listening on https 127.0.0.1:$PORT (links to $BASE)"

LINK=$("$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @erik)
case $LINK in "$BASE"/l/*) ;; *) fail "link not https: $LINK" ;; esac
# the sign-in page over TLS, the certificate verified against the CA
curl -s --max-time 10 --cacert "$CA/ca.pem" -D "$T/headers" -o "$T/page" "$LINK" ||
	fail "curl over TLS"
expect_in "$T/headers" "HTTP/1.1 200"
expect_not_in "$T/headers" "Set-Cookie"
expect_in "$T/page" 'action="/l/'
# its button signs in: the cookie is Secure
curl -s --max-time 10 --cacert "$CA/ca.pem" -D "$T/headers" -o /dev/null -d '' \
	-H "Origin: $BASE" "$LINK" || fail "POST over TLS"
expect_in "$T/headers" "HTTP/1.1 303"
expect_in "$T/headers" "SameSite=Strict; Secure"
# without the CA, curl refuses the certificate
if curl -s --max-time 10 -o /dev/null "$BASE/" 2>/dev/null; then
	fail "certificate accepted without the CA"
fi
# plain HTTP to the TLS port: closed, no HTTP answer
if curl -s --max-time 10 -o "$T/plain" "http://127.0.0.1:$PORT/"; then
	fail "plain HTTP answered on the TLS port"
fi
[ ! -s "$T/plain" ] || fail "bytes answered to plain HTTP"
wait_for grep -q "2 TLS handshakes failed" "$T/ismsd.log" || { cat "$T/ismsd.log"; fail "no log line for the failed handshake"; }
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'portal.login'")" = 1 ] || fail "login audited"
expect_not_in "$T/ismsd.log" "${LINK##*/}"
# a clean stop: no sanitizer report
kill -TERM "$ISMSD_PID"
rc=0
wait "$ISMSD_PID" || rc=$?
[ $rc = 0 ] || { tail -20 "$T/ismsd.log"; fail "exit status $rc"; }
if grep -q 'Sanitizer\|runtime error' "$T/ismsd.log"; then fail "sanitizer report"; fi
echo "portal_tls: ok"
