// Plays people on Matrix with matrix-js-sdk and its Rust crypto (the
// client nobody here wrote), for tests/integration/matrix_js_fake.sh and
// matrix_e2ee.sh. One process holds every person's devices (each a
// MatrixClient with an in-memory crypto store) and takes commands over
// HTTP on loopback, so a shell script can drive it step by step:
//
//   node human.mjs serve HOMESERVER_URL      prints {"port": N} when ready
//   node human.mjs PORT COMMAND [JSON] [FIELD]
//        POST COMMAND with the JSON body; prints FIELD of the reply (or the
//        whole reply); on an error prints it to stderr and exits 1.
//
// Commands (each bounded by "timeout" seconds, default 30):
//   login   {device, user, password?}   log in as user with that device id
//                                       and start syncing with E2EE
//   dm      {as, with, encrypted?}      create a direct chat (encrypted
//                                       unless encrypted=false) -> room_id
//   join    {as, room}                  accept an invite
//   send    {as, room, body, reply_to?} send m.text (encrypted when the
//                                       room is) -> event_id
//   wait    {as, room, sender?, contains?, count?, after?, event_id?}
//                                       wait for count (1) decrypted
//                                       messages from sender whose body has
//                                       contains, after event id after ->
//                                       {events: [...]}; on a timeout the
//                                       error lists what was seen, with
//                                       the reasons of failed decryptions
//   messages {as, room}                 every message seen -> {events}
//   devices {as, user, has?}            user's devices as seen (after
//                                       waiting until has is among them)
//                                       -> {devices}
//   room_keys {as}                      the Megolm session keys the device
//                                       holds -> {keys: [{room_id,
//                                       session_id, session_key}]}
//   stop    {as}                        stop that device's client
// Messages are {event_id, sender, wire_type, type, body, msgtype,
// in_reply_to, decrypted, failure}.

import http from "node:http";

const [, , mode, ...argv] = process.argv;

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

async function until(what, timeoutS, fn) {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutS} s waiting for ${what}`);
        await sleep(100);
    }
}

async function call(port, cmd, body, field) {
    const res = await fetch(`http://127.0.0.1:${port}/${cmd}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body || "{}",
    });
    const reply = await res.json();
    if (!res.ok) {
        process.stderr.write(`human ${cmd}: ${reply.error}\n`);
        process.exit(1);
    }
    const out = field ? reply[field] : reply;
    process.stdout.write((typeof out === "string" ? out : JSON.stringify(out)) + "\n");
}

async function serve(baseUrl) {
    const sdk = await import("matrix-js-sdk");
    const { logger } = await import("matrix-js-sdk/lib/logger.js");
    logger.setLevel(process.env.HUMAN_LOG_LEVEL || "warn");
    const devices = new Map(); // device id -> {client, user, seen: MatrixEvent[]}

    function dev(name) {
        const d = devices.get(name);
        if (!d) throw new Error(`no device ${name} (log in first)`);
        return d;
    }

    function view(ev) {
        const c = ev.getContent() || {};
        return {
            event_id: ev.getId(),
            sender: ev.getSender(),
            wire_type: ev.getWireType(),
            type: ev.getType(),
            body: c.body,
            msgtype: c.msgtype,
            // the relation travels in the clear content of m.room.encrypted
            in_reply_to: ev.replyEventId || c["m.relates_to"]?.["m.in_reply_to"]?.event_id,
            decrypted: ev.isEncrypted() ? !ev.isDecryptionFailure() && ev.getType() !== "m.room.encrypted" : null,
            failure: ev.decryptionFailureReason || null,
        };
    }

    function messages(d, room) {
        return d.seen
            .filter((ev) => ev.getRoomId() === room)
            .filter((ev) => ["m.room.message", "m.room.encrypted"].includes(ev.getType()))
            .map(view);
    }

    async function room(d, id, t) {
        return until(`room ${id} on ${d.name}`, t, () => d.client.getRoom(id));
    }

    const commands = {
        async login(a, t) {
            if (devices.has(a.device)) throw new Error(`device ${a.device} is logged in already`);
            const anon = sdk.createClient({ baseUrl });
            const r = await anon.loginRequest({
                type: "m.login.password",
                identifier: { type: "m.id.user", user: a.user },
                password: a.password || "password",
                device_id: a.device,
                initial_device_display_name: `js-sdk ${a.device}`,
            });
            const client = sdk.createClient({
                baseUrl,
                userId: r.user_id,
                deviceId: r.device_id,
                accessToken: r.access_token,
                store: new sdk.MemoryStore(),
                timelineSupport: true,
            });
            await client.initRustCrypto({ useIndexedDB: false });
            const d = { name: a.device, client, user: r.user_id, seen: [] };
            client.on(sdk.RoomEvent.Timeline, (ev) => d.seen.push(ev));
            const ready = new Promise((resolve, reject) => {
                client.on(sdk.ClientEvent.Sync, (state) => {
                    if (state === "PREPARED" || state === "SYNCING") resolve();
                    if (state === "ERROR") reject(new Error(`sync error on ${a.device}`));
                });
            });
            await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
            await Promise.race([ready, sleep(t * 1000).then(() => Promise.reject(new Error("no first sync")))]);
            devices.set(a.device, d);
            return { user_id: r.user_id, device_id: r.device_id };
        },

        async dm(a, t) {
            const d = dev(a.as);
            const initial_state =
                a.encrypted === false
                    ? []
                    : [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }];
            const { room_id } = await d.client.createRoom({
                is_direct: true,
                invite: [a.with],
                preset: "trusted_private_chat",
                initial_state,
            });
            const direct = d.client.getAccountData("m.direct")?.getContent() || {};
            direct[a.with] = [...(direct[a.with] || []), room_id];
            await d.client.setAccountData("m.direct", direct);
            await room(d, room_id, t);
            return { room_id };
        },

        async join(a, t) {
            const d = dev(a.as);
            await d.client.joinRoom(a.room);
            await until(`${d.name} joined ${a.room}`, t, () => d.client.getRoom(a.room)?.getMyMembership() === "join");
            return { room_id: a.room };
        },

        async send(a, t) {
            const d = dev(a.as);
            const r = await room(d, a.room, t);
            const content = { msgtype: "m.text", body: a.body };
            if (a.reply_to) content["m.relates_to"] = { "m.in_reply_to": { event_id: a.reply_to } };
            const encrypted = await d.client.getCrypto().isEncryptionEnabledInRoom(r.roomId);
            const res = await d.client.sendMessage(r.roomId, content);
            return { event_id: res.event_id, encrypted };
        },

        async wait(a, t) {
            const d = dev(a.as);
            const count = a.count ?? 1;
            await room(d, a.room, t);
            let lastSeen = [];
            try {
                return await until(`${count} message(s) on ${d.name}`, t, () => {
                    let all = messages(d, a.room);
                    if (a.after) {
                        const i = all.findIndex((m) => m.event_id === a.after);
                        all = i < 0 ? [] : all.slice(i + 1);
                    }
                    if (a.sender) all = all.filter((m) => m.sender === a.sender);
                    if (a.event_id) all = all.filter((m) => m.event_id === a.event_id);
                    lastSeen = all;
                    const hits = all.filter((m) => m.decrypted !== false && (!a.contains || (m.body || "").includes(a.contains)));
                    return hits.length >= count ? { events: hits } : null;
                });
            } catch (e) {
                throw new Error(`${e.message}; seen: ${JSON.stringify(lastSeen)}`);
            }
        },

        async messages(a) {
            return { events: messages(dev(a.as), a.room) };
        },

        async devices(a, t) {
            const d = dev(a.as);
            const list = async () => {
                const map = await d.client.getCrypto().getUserDeviceInfo([a.user], true);
                return [...(map.get(a.user)?.keys() || [])].sort();
            };
            if (a.has) await until(`${a.has} among ${a.user}'s devices on ${d.name}`, t, async () => (await list()).includes(a.has));
            return { devices: await list() };
        },

        async room_keys(a) {
            // the Megolm keys this device holds (exported form), so a test
            // can make sure none of them shows up in a log
            const keys = await dev(a.as).client.getCrypto().exportRoomKeys();
            return { keys: keys.map((k) => ({ room_id: k.room_id, session_id: k.session_id, session_key: k.session_key })) };
        },

        async stop(a) {
            const d = dev(a.as);
            d.client.stopClient();
            devices.delete(a.as);
            return {};
        },
    };

    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", async () => {
            const cmd = req.url.replace(/^\//, "");
            let status = 200;
            let out;
            try {
                if (!commands[cmd]) throw new Error(`unknown command ${cmd}`);
                const a = body ? JSON.parse(body) : {};
                const t = a.timeout || 30;
                out = await Promise.race([
                    commands[cmd](a, t),
                    sleep((t + 5) * 1000).then(() => Promise.reject(new Error(`${cmd} took over ${t} s`))),
                ]);
            } catch (e) {
                status = 400;
                out = { error: String(e.message || e) };
            }
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(out));
        });
    });
    server.listen(0, "127.0.0.1", () => {
        process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
    });
    const stop = () => {
        for (const d of devices.values()) d.client.stopClient();
        server.close();
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

if (mode === "serve") {
    await serve(argv[0]);
} else if (mode && /^\d+$/.test(mode) && argv[0]) {
    await call(mode, argv[0], argv[1], argv[2]);
} else {
    process.stderr.write("usage: node human.mjs serve URL | node human.mjs PORT COMMAND [JSON] [FIELD]\n");
    process.exit(2);
}
