// Baseline for `make bench`: what a team would write instead of ismsd.
// A minimal Slack Bolt for JavaScript app with the HTTP receiver: each
// signed /incident slash command becomes one durable row in SQLite (WAL,
// synchronous=FULL, the same durability as ismsd), then is acknowledged.
'use strict';
const { App } = require('@slack/bolt');
const Database = require('better-sqlite3');

const db = new Database(process.env.BASELINE_DB || 'baseline.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  reporter TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL)`);
const insert = db.prepare(
  'INSERT INTO incidents (reporter, text, created_at) VALUES (?, ?, ?)');

// A fixed authorization: the benchmark machine has no route to slack.com,
// and a deployed app would cache this after its first auth.test anyway.
const app = new App({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  authorize: async () => ({
    botToken: process.env.SLACK_BOT_TOKEN || 'xoxb-bench',
    botId: 'B0BENCH', botUserId: 'U0BENCH',
  }),
  processBeforeResponse: true,
});

app.command('/incident', async ({ command, ack }) => {
  const info = insert.run(command.user_id, command.text, Date.now());
  await ack({ response_type: 'ephemeral',
              text: `Recorded as INC-${info.lastInsertRowid}` });
});

(async () => {
  const port = Number(process.env.PORT || 3100);
  await app.start({ port, host: '127.0.0.1' });
  console.log(JSON.stringify({ port }));
})();
