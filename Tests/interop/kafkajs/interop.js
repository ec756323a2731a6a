// Drives kafkajs 2.2.4 against an OrleansMQ silo and prints one JSON line per step, so the C#
// test can assert on what a kafkajs user would see. Usage: node interop.js <host:port> <topic>
// Consuming with kafkajs needs the group coordinator APIs (consumer-group issue); until then the
// C# test reads what this script produced with kcat.
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'omq-interop', brokers: [broker], logLevel: logLevel.ERROR, retry: { retries: 3 } });
  const out = (step, data) => console.log(JSON.stringify({ step, ...data }));

  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true });
  out('createTopics', { created });
  const again = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  out('createTopicsAgain', { created: again });
  const topics = await admin.listTopics();
  out('listTopics', { found: topics.includes(topic) });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  out('metadata', { partitions: meta.topics[0].partitions.map(p => ({ id: p.partitionId, leader: p.leader })).sort((a, b) => a.id - b.id) });

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const before = Date.now();
  const plain = await producer.send({
    topic,
    messages: Array.from({ length: 30 }, (_, i) => ({ key: `key-${i % 3}`, value: `plain-${i}`, partition: i % 3, headers: { n: `${i}` } })),
  });
  const gzip = await producer.send({
    topic,
    compression: CompressionTypes.GZIP,
    messages: Array.from({ length: 30 }, (_, i) => ({ key: `key-${i % 3}`, value: `gzip-${i}`, partition: i % 3 })),
  });
  out('produce', { plain: plain.map(r => ({ partition: r.partition, error: r.errorCode, base: r.baseOffset })), gzip: gzip.map(r => ({ partition: r.partition, error: r.errorCode, base: r.baseOffset })) });
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  out('offsets', { offsets: offsets.map(o => ({ partition: o.partition, low: o.low, high: o.high })).sort((a, b) => a.partition - b.partition) });
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, before - 60000);
  out('offsetsByTimestamp', { offsets: byTime.map(o => ({ partition: o.partition, offset: o.offset })).sort((a, b) => a.partition - b.partition) });
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }], includeSynonyms: false });
  out('describeConfigs', { entries: configs.resources[0].configEntries.map(e => ({ name: e.configName, value: e.configValue, isDefault: e.isDefault })) });
  await admin.disconnect();
}

main().then(() => process.exit(0), err => { console.error(err && err.stack || String(err)); process.exit(1); });
