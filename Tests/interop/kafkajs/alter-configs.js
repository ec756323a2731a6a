// kafkajs 2.2.4's admin alterConfigs (the AlterConfigs API: the topic's dynamic configs become
// exactly the given set) against an OrleansMQ silo, checked with describeConfigs and a produce.
// Prints one JSON line per step. Usage: node alter-configs.js <host:port> <topic>
const { Kafka, ConfigResourceTypes, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'omq-interop-configs', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const out = (step, data) => console.log(JSON.stringify({ step, ...data }));
  const describe = async () => {
    const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'max.message.bytes'] }], includeSynonyms: false });
    return Object.fromEntries(r.resources[0].configEntries.map(e => [e.configName, { value: e.configValue, isDefault: e.isDefault }]));
  };
  const attempt = async (step, action) => {
    try {
      await action();
      out(step, { ok: true });
    } catch (err) {
      out(step, { ok: false, type: err.type || null, message: String(err.message) });
    }
  };

  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });

  await attempt('alter', () => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: '2048' }] }] }));
  out('describeAfterAlter', { configs: await describe() });
  await attempt('alterUnknown', () => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.msx', value: '1' }] }] }));
  await attempt('alterBroker', () => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configEntries: [{ name: 'log.retention.ms', value: '1' }] }] }));

  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  await attempt('produceLarge', () => producer.send({ topic, messages: [{ value: 'x'.repeat(4000), partition: 0 }] }));
  await attempt('produceSmall', () => producer.send({ topic, messages: [{ value: 'x'.repeat(100), partition: 0 }] }));
  await producer.disconnect();
  await admin.disconnect();
}

main().then(() => process.exit(0), err => { console.error(err && err.stack || String(err)); process.exit(1); });
