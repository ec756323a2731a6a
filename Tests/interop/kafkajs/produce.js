// kafkajs 2.2.4 as a producer for the managed client's interop tests: an idempotent producer sends
// <count> messages "v<i>" keyed "k<i>" with a header trace=<i> to <topic>, in batches of 50,
// gzip-compressed when asked. Prints one JSON line: {"sent":count,"partitions":{p:n,...}}.
// Usage: node produce.js <host:port> <topic> <count> <none|gzip>
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [broker, topic, countArg, codec] = process.argv.slice(2);
const count = Number(countArg);
if (!broker || !topic || !(count > 0) || !['none', 'gzip'].includes(codec)) {
  console.error('usage: node produce.js <host:port> <topic> <count> <none|gzip>');
  process.exit(2);
}

(async () => {
  const kafka = new Kafka({ clientId: 'omq-interop-producer', brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  await producer.connect();
  const partitions = {};
  for (let start = 0; start < count; start += 50) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 50); i++) {
      messages.push({ key: `k${i}`, value: `v${i}`, headers: { trace: `${i}` } });
    }
    const results = await producer.send({
      topic,
      acks: -1,
      compression: codec === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      messages,
    });
    for (const r of results) {
      partitions[r.partition] = (partitions[r.partition] || 0) + 1;
    }
  }
  await producer.disconnect();
  console.log(JSON.stringify({ sent: count, partitions }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
