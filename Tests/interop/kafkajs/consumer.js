// A kafkajs 2.2.4 group consumer for the consumer-group interop tests: joins <group>, consumes
// <topic> with consumer.run({ eachMessage }) until SIGTERM, then disconnects cleanly (commits,
// LeaveGroup). Prints one JSON line per event on stdout (kafkajs' own log goes to stderr;
// KAFKAJS_LOG_LEVEL=info|debug for more):
//   {"event":"join","memberId":..,"leaderId":..,"assignment":[partitions]}
//   {"event":"msg","p":partition,"o":"offset","v":"value"}
//   {"event":"crash","error":..,"restart":bool}   {"event":"stopped"}
// Usage: node consumer.js <host:port> <topic> <group> <clientId> <auto|manual>
//   auto:   autoCommit (kafkajs commits after every batch)
//   manual: autoCommit: false and consumer.commitOffsets after every message
const { Kafka, logLevel } = require('kafkajs');

const [broker, topic, groupId, clientId, mode] = process.argv.slice(2);
if (!broker || !topic || !groupId || !clientId || !['auto', 'manual'].includes(mode)) {
  console.error('usage: node consumer.js <host:port> <topic> <group> <clientId> <auto|manual>');
  process.exit(2);
}

const out = (event, data) => console.log(JSON.stringify({ event, ...data }));
const levels = { debug: logLevel.DEBUG, info: logLevel.INFO };
const toStderr = () => ({ level, log }) => {
  const { message, ...extra } = log;
  process.stderr.write(`${new Date().toISOString()} ${level} ${message} ${JSON.stringify(extra)}\n`);
};

const kafka = new Kafka({
  clientId,
  brokers: [broker],
  logLevel: levels[process.env.KAFKAJS_LOG_LEVEL] || logLevel.WARN,
  logCreator: toStderr,
  // A silo restart takes a moment: keep retrying (connection refused, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR).
  retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 20 },
});

let consumer = null;
let stopping = false;

async function start() {
  const c = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 10000,
    maxWaitTimeInMs: 500, // the fetch long-poll also paces heartbeats
  });
  consumer = c;
  c.on(c.events.GROUP_JOIN, e => out('join', {
    memberId: e.payload.memberId,
    leaderId: e.payload.leaderId,
    assignment: (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b),
  }));
  c.on(c.events.CRASH, e => {
    out('crash', { error: `${e.payload.error && e.payload.error.name}: ${e.payload.error && e.payload.error.message}`, restart: e.payload.restart });
    if (!e.payload.restart && !stopping) {
      // kafkajs does not restart after a non-retriable error, e.g. KafkaJSGroupCoordinatorNotFound
      // when the only broker is down at that moment (tulios/kafkajs#1445, #1630); do what a
      // supervisor would: start a new consumer (it has disconnected already).
      setTimeout(restart, 500);
    }
  });

  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  await c.run({
    autoCommit: mode === 'auto',
    eachMessage: async ({ partition, message }) => {
      out('msg', { p: partition, o: message.offset, v: message.value.toString() });
      if (mode === 'manual') {
        await c.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      }
    },
  });
  out('running', {});
}

function restart() {
  if (stopping) {
    return;
  }

  start().catch(err => {
    out('startFailed', { error: String(err && err.message) });
    setTimeout(restart, 500);
  });
}

async function stop() {
  if (stopping) {
    return;
  }

  stopping = true;
  try {
    if (consumer) {
      await consumer.disconnect();
    }

    out('stopped', {});
    process.exit(0);
  } catch (err) {
    console.error(err && err.stack || String(err));
    process.exit(1);
  }
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

start().catch(err => { console.error(err && err.stack || String(err)); process.exit(1); });
