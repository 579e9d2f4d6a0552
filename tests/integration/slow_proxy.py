"""A TCP proxy on 127.0.0.1 that holds every new connection for DELAY
seconds before relaying it to TARGET_PORT, so that a test can stop ismsd
while a send or a poll is in flight.

usage: slow_proxy.py TARGET_PORT LOGFILE [DELAY]
Prints the port it listens on; appends "connect" to LOGFILE per connection.
"""
import socket
import sys
import threading
import time


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, port, log, delay):
    with open(log, "a") as f:
        f.write("connect\n")
    time.sleep(delay)
    try:
        upstream = socket.create_connection(("127.0.0.1", port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 0))
    lst.listen(16)
    print(lst.getsockname()[1], flush=True)
    while True:
        c, _ = lst.accept()
        threading.Thread(target=serve, args=(c, port, log, delay), daemon=True).start()


if __name__ == "__main__":
    main()
