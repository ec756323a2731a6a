using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// Three silo processes over Azurite's table service: the group coordinator is the leader of the
/// replicated <c>__consumer_offsets</c>-0, every silo names it; a kcat consumer group consumes a
/// replicated topic and commits; the coordinator's silo is SIGKILLed; the committed offsets are
/// there through the new coordinator, and consumers go on from them: nothing read twice, nothing
/// skipped.
/// </summary>
#pragma warning disable CA1001 // the processes are disposed in DisposeAsync (IAsyncLifetime)
public sealed class GroupCoordinatorFailoverTests : IAsyncLifetime
{
    private const string Topic = "events";
    private const string OffsetsTopic = "__consumer_offsets";
    private const string Group = "survivors";
    private const int Partitions = 3;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _log;
    private SiloCluster _cluster = null!;
#pragma warning restore CA1001

    public GroupCoordinatorFailoverTests(ITestOutputHelper log) => _log = log;

    private List<SiloProcess> _silos => _cluster.Silos;

    public async Task InitializeAsync() => _cluster = await SiloCluster.StartAsync("coord", new Dictionary<string, string> { ["OrleansMQ__Groups__InitialRebalanceDelayMs"] = "0" });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private string Diagnostics() => _cluster.Diagnostics();

    private IEnumerable<SiloProcess> Running => _silos.Where(s => s.IsRunning);

    private string Bootstrap => string.Join(',', Running.Select(s => s.Bootstrap));

    private static Task<MetadataResponse> MetadataAsync(SiloProcess silo, string topic) => SiloCluster.MetadataAsync(silo, topic);

    private static async Task<FindCoordinatorResponse> FindCoordinatorAsync(SiloProcess silo)
    {
        using var client = await silo.ConnectAsync();
        return await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = Group, KeyType = 0 }, 3);
    }

    /// <summary>Polls until <paramref name="probe"/> answers non-null, failing after <see cref="Wait"/> with the last thing seen.</summary>
    private async Task<T> WaitForAsync<T>(Func<Task<(T? Value, string Seen)>> probe, string what)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            try
            {
                var (value, seen) = await probe();
                last = seen;
                if (value is not null)
                {
                    return value;
                }
            }
            catch (IOException ex)
            {
                last = ex.Message;
            }

            Assert.True(clock.Elapsed < Wait, $"{what}: not reached in {Wait.TotalSeconds} s; last seen {last}{Diagnostics()}");
            await Task.Delay(200);
        }
    }

    /// <summary>Every running silo names the same live coordinator; returns its node id.</summary>
    private Task<string> AgreedCoordinatorAsync(string what) => WaitForAsync(async () =>
    {
        var answers = new List<FindCoordinatorResponse>();
        foreach (var silo in Running)
        {
            answers.Add(await FindCoordinatorAsync(silo));
        }

        string seen = string.Join("; ", answers.Select(a => $"{a.ErrorCode} {a.NodeId} {a.Host}:{a.Port}"));
        bool agreed = answers.All(a => a.ErrorCode == ErrorCode.None && a.NodeId == answers[0].NodeId && a.Port == _silos[a.NodeId].KafkaPort && _silos[a.NodeId].IsRunning);
        return (agreed ? answers[0].NodeId.ToString(CultureInfo.InvariantCulture) : null, seen);
    }, what);

    /// <summary>The group's committed offsets, read with OffsetFetch from <paramref name="coordinator"/>, once they equal <paramref name="expected"/>.</summary>
    private Task<string> WaitCommittedAsync(int coordinator, long expected, string what) => WaitForAsync(async () =>
    {
        using var client = await _silos[coordinator].ConnectAsync();
        var response = await client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            GroupId = Group,
            Topics = [new OffsetFetchRequest.Topic { Name = Topic, PartitionIndexes = [.. Enumerable.Range(0, Partitions)] }],
        }, 6);
        var offsets = response.Topics.SelectMany(t => t.Partitions).ToList();
        string seen = $"{response.ErrorCode}: " + string.Join(", ", offsets.Select(p => $"p{p.PartitionIndex}={p.CommittedOffset} {p.ErrorCode}"));
        bool done = response.ErrorCode == ErrorCode.None && offsets.Count == Partitions && offsets.All(p => p.ErrorCode == ErrorCode.None && p.CommittedOffset == expected);
        return (done ? seen : null, seen);
    }, what);

    private async Task ProduceAsync(string prefix, int perPartition)
    {
        for (int p = 0; p < Partitions; p++)
        {
            string lines = string.Concat(Enumerable.Range(0, perPartition).Select(i => $"{prefix}-{p}-{i}\n"));
            var r = await ExternalTool.RunAsync(ExternalTool.Require("kcat"), ["-P", "-b", Bootstrap, "-t", Topic, "-p", p.ToString(CultureInfo.InvariantCulture), "-X", "acks=all"], stdin: lines, timeout: TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, $"kcat -P partition {p}: {r.Stderr}{Diagnostics()}");
        }
    }

    private ExternalTool.RunningTool Member(string clientId) => ExternalTool.StartCollecting(
        ExternalTool.Require("kcat"),
        [
            "-b", Bootstrap, "-G", Group, "-u", "-f", "%p %o %s\n",
            "-X", $"client.id={clientId}",
            "-X", "auto.offset.reset=earliest",
            "-X", "session.timeout.ms=6000",
            "-X", "heartbeat.interval.ms=500",
            "-X", "auto.commit.interval.ms=200",
            Topic,
        ]);

    private static List<string> Values(IEnumerable<string> lines) => [.. lines.Select(l => l.Split(' ', 3)).Where(f => f.Length == 3).Select(f => f[2])];

    [Fact]
    public async Task Committed_offsets_survive_the_coordinators_silo_being_killed_and_consumers_go_on_from_them()
    {
        // Three live brokers first: the offsets partition is placed on those the creating silo sees.
        await WaitForAsync(async () =>
        {
            var m = await MetadataAsync(_silos[0], Topic);
            return (m.Brokers.Count == 3 ? m : null, $"{m.Brokers.Count} brokers");
        }, "three live brokers");
        await using (var admin = new OrleansMQ.Client.Admin.KafkaAdminClient(new OrleansMQ.Client.ClientOptions { BootstrapServers = _silos[0].Bootstrap }))
        {
            await admin.CreateTopicAsync(new OrleansMQ.Client.Admin.NewTopic(Topic, Partitions, 3));
        }

        // Every silo names one coordinator, and it is the leader of __consumer_offsets-0, which
        // has three replicas, all in sync.
        int coordinator = int.Parse(await AgreedCoordinatorAsync("one coordinator named by every silo"), CultureInfo.InvariantCulture);
        foreach (var silo in _silos)
        {
            var offsets = (await MetadataAsync(silo, OffsetsTopic)).Topics.Single(t => t.Name == OffsetsTopic);
            Assert.True(offsets.IsInternal);
            var p0 = offsets.Partitions.Single();
            Assert.Equal(coordinator, p0.LeaderId);
            Assert.Equal(3, p0.ReplicaNodes.Count);
        }

        _log.WriteLine($"coordinator: broker {coordinator}");

        // The partition is the broker's own: users cannot create, delete or append to it.
        await using (var admin = new OrleansMQ.Client.Admin.KafkaAdminClient(new OrleansMQ.Client.ClientOptions { BootstrapServers = _silos[0].Bootstrap }))
        {
            var create = await Assert.ThrowsAsync<OrleansMQ.Client.KafkaException>(() => admin.CreateTopicAsync(new OrleansMQ.Client.Admin.NewTopic(OffsetsTopic, 1, 1)));
            Assert.Equal(ErrorCode.TopicAlreadyExists, create.ErrorCode);
            var delete = await Assert.ThrowsAsync<OrleansMQ.Client.KafkaException>(() => admin.DeleteTopicsAsync([OffsetsTopic]));
            Assert.Equal(ErrorCode.InvalidTopicException, delete.ErrorCode);
        }

        using (var client = await _silos[coordinator].ConnectAsync())
        {
            var builder = new OrleansMQ.Protocol.Batches.RecordBatchBuilder();
            builder.Add("forged"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null);
            var batch = new byte[builder.GetSize()];
            builder.Build(batch);
            var produced = await client.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
            {
                Acks = -1,
                TimeoutMs = 10_000,
                Topics = [new ProduceRequest.Topic { Name = OffsetsTopic, Partitions = [new ProduceRequest.Partition { Index = 0, Records = batch }] }],
            }, 9);
            Assert.Equal(ErrorCode.InvalidTopicException, produced.Topics[0].Partitions[0].ErrorCode);
        }

        // A member consumes everything and commits it (auto-commit every 200 ms).
        await ProduceAsync("before", 100);
        await using var first = Member("member-1");
        await first.WaitUntilAsync(lines => Values(lines).Count >= 300, Wait, "member-1 reads the first 300 records");
        await WaitCommittedAsync(coordinator, 100, "100 committed on every partition");

        // SIGKILL the coordinator's silo: another replica of the offsets partition leads it,
        // loads the group from what it copied, and every surviving silo names it.
        var clock = Stopwatch.StartNew();
        _silos[coordinator].Kill();
        int next = int.Parse(await AgreedCoordinatorAsync("a new coordinator named by both survivors"), CultureInfo.InvariantCulture);
        Assert.NotEqual(coordinator, next);
        string committed = await WaitCommittedAsync(next, 100, "the committed offsets through the new coordinator");
        _log.WriteLine($"broker {next} coordinates {clock.Elapsed.TotalSeconds:F1} s after broker {coordinator} was killed; {committed}");

        // The silo that does not coordinate reaches the group through its grain, which placement
        // put on the coordinator: its HTTP lag view has the committed offsets too.
        var bystander = _silos.First(x => x.IsRunning && _silos.IndexOf(x) != next);
        using var http = new HttpClient();
        string lag = await WaitForAsync(async () =>
        {
            using var r = await http.GetAsync(new Uri(bystander.HttpBase, $"orleansmq/v1/groups/{Group}/lag"));
            string body = await r.Content.ReadAsStringAsync();
            if (!r.IsSuccessStatusCode)
            {
                return (null, $"{r.StatusCode} {body}");
            }

            using var doc = System.Text.Json.JsonDocument.Parse(body);
            var offsets = doc.RootElement.GetProperty("partitions").EnumerateArray().Where(p => p.GetProperty("topic").GetString() == Topic).Select(p => p.GetProperty("committed_offset")).ToList();
            bool done = offsets.Count == Partitions && offsets.All(o => o.ValueKind == System.Text.Json.JsonValueKind.Number && o.GetInt64() == 100);
            return (done ? body : null, body);
        }, "the committed offsets in the lag view of the silo that does not coordinate");
        _log.WriteLine($"lag through broker {_silos.IndexOf(bystander)}: {lag}");

        // The member goes on: the records produced now reach it, and nothing is read twice.
        await ProduceAsync("after", 10);
        await first.WaitUntilAsync(lines => Values(lines).Count(v => v.StartsWith("after-", StringComparison.Ordinal)) >= 30, Wait, "member-1 reads the 30 records produced after the kill");
        await WaitCommittedAsync(next, 110, "110 committed on every partition through the new coordinator");
        await first.KillAsync();
        var firstValues = Values(first.Lines);
        Assert.Equal(firstValues.Count, firstValues.Distinct().Count());
        Assert.Equal(330, firstValues.Count);

        // A new member of the group starts from the committed offsets: only what came after.
        await ProduceAsync("later", 10);
        await using var second = Member("member-2");
        await second.WaitUntilAsync(lines => Values(lines).Count >= 30, Wait, "member-2 reads the 30 records produced after member-1 left");
        await Task.Delay(2_000); // anything read twice would come with them
        var secondValues = Values(second.Lines);
        Assert.Equal(Enumerable.Range(0, Partitions).SelectMany(p => Enumerable.Range(0, 10).Select(i => $"later-{p}-{i}")).Order(), secondValues.Order());
    }
}
