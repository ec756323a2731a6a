using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>DescribeConfigs v0–v4 for a topic and for the broker.</summary>
public sealed class DescribeConfigsTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> AllVersions = [0, 1, 2, 3, 4];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task A_topic_shows_every_config_with_what_was_set_as_dynamic_and_the_rest_as_defaults(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"dc-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 1, ("retention.ms", "3600000"), ("max.message.bytes", "5000"));

        var result = await DescribeAsync(client, ConfigResourceType.Topic, name, version);

        Assert.Equal(ErrorCode.None, result.ErrorCode);
        Assert.Equal(ConfigResourceType.Topic, result.ResourceType);
        Assert.Equal(name, result.ResourceName);
        var configs = result.Configs.ToDictionary(c => c.Name, StringComparer.Ordinal);
        Assert.Equal(TopicConfig.Defaults.Keys.Order(StringComparer.Ordinal), configs.Keys.Order(StringComparer.Ordinal));

        AssertEntry(configs["retention.ms"], "3600000", isDefault: false, version);
        AssertEntry(configs["max.message.bytes"], "5000", isDefault: false, version);
        AssertEntry(configs["cleanup.policy"], "delete", isDefault: true, version);
        AssertEntry(configs["message.timestamp.type"], "CreateTime", isDefault: true, version);
        foreach (var (key, value) in TopicConfig.Defaults)
        {
            if (key is not ("retention.ms" or "max.message.bytes"))
            {
                Assert.True(value == configs[key].Value, $"{key}: {configs[key].Value}, default {value}");
            }
        }

        Assert.All(configs.Values, c => Assert.False(c.IsSensitive));
        if (version >= 3)
        {
            Assert.Equal(ConfigType.Long, configs["retention.ms"].ConfigType);
            Assert.Equal(ConfigType.Int, configs["max.message.bytes"].ConfigType);
            Assert.Equal(ConfigType.List, configs["cleanup.policy"].ConfigType);
        }
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task Named_keys_return_only_those_keys(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"dc-keys-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 1, ("retention.ms", "7200000"));

        var result = await DescribeAsync(client, ConfigResourceType.Topic, name, version, ["retention.ms", "segment.bytes"]);

        Assert.Equal(ErrorCode.None, result.ErrorCode);
        Assert.Equal(["retention.ms", "segment.bytes"], result.Configs.Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.Equal("7200000", result.Configs.Single(c => c.Name == "retention.ms").Value);
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task The_broker_resource_0_shows_its_static_configs(short version)
    {
        using var client = await Silo.ConnectAsync();

        var result = await DescribeAsync(client, ConfigResourceType.Broker, "0", version);

        Assert.Equal(ErrorCode.None, result.ErrorCode);
        Assert.Equal(ConfigResourceType.Broker, result.ResourceType);
        Assert.Equal("0", result.ResourceName);
        var configs = result.Configs.ToDictionary(c => c.Name, StringComparer.Ordinal);
        Assert.Equal("0", configs["broker.id"].Value);
        Assert.Equal("1", configs["num.partitions"].Value);
        Assert.Equal("true", configs["auto.create.topics.enable"].Value);
        Assert.Equal((4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), configs["message.max.bytes"].Value); // TestSilo's MaxBatchBytes
        Assert.All(configs.Values, c => Assert.True(c.ReadOnly, $"{c.Name} is not read-only"));
        if (version >= 1)
        {
            Assert.All(configs.Values, c => Assert.Equal(ConfigSource.StaticBrokerConfig, c.ConfigSource));
        }
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task An_unknown_topic_is_UNKNOWN_TOPIC_OR_PARTITION(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"dc-unknown-v{version}");

        var result = await DescribeAsync(client, ConfigResourceType.Topic, name, version);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, result.ErrorCode);
        Assert.Empty(result.Configs);
        Assert.DoesNotContain(name, await BrokerKit.AllTopicNamesAsync(client)); // describing never creates
    }

    private static void AssertEntry(DescribeConfigsResponse.Config config, string value, bool isDefault, short version)
    {
        Assert.Equal(value, config.Value);
        Assert.False(config.ReadOnly);
        if (version == 0)
        {
            Assert.True(isDefault == config.IsDefault, $"{config.Name}: is_default {config.IsDefault}");
        }
        else
        {
            Assert.Equal(isDefault ? ConfigSource.DefaultConfig : ConfigSource.DynamicTopicConfig, config.ConfigSource);
        }
    }

    private static async Task<DescribeConfigsResponse.Result> DescribeAsync(KafkaTestClient client, ConfigResourceType type, string name, short version, List<string>? keys = null)
    {
        var request = new DescribeConfigsRequest
        {
            IncludeSynonyms = version >= 1,
            Resources = [new DescribeConfigsRequest.Resource { ResourceType = type, ResourceName = name, ConfigurationKeys = keys }],
        };
        var response = await client.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(request, version);
        return Assert.Single(response.Results);
    }
}
