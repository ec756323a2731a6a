using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using OrleansMQ.Samples.Streams;
using OrleansMQ.Streaming;
using OrleansMQ.Streaming.Hosting;

// An Orleans application whose streams are OrleansMQ topics. Start a broker first
// (`dotnet run --project Silo`), then run this: it hosts one Orleans silo, sends orders on one stream
// per customer, and waits until each customer's subscriber grain has them all, in order.
const string Provider = "omq";
var settings = SampleSettings.Parse(args, out string? error);
if (settings is null)
{
    Console.Error.WriteLine(error);
    return 2;
}

// Content root = the program's folder, so an appsettings.json in the current directory (the OrleansMQ
// silo's, say) does not configure this program.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });

// The program's own lines stay readable: warnings and errors only, and from Orleans only errors (its
// start-up notes about the GC mode and the watchdog's first check are warnings).
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Orleans", LogLevel.Error);
builder.UseOrleans(silo =>
{
    // A one-silo Orleans cluster of its own on loopback. Free ports, because the OrleansMQ silo on this
    // machine is an Orleans silo too and holds Orleans' defaults (11111, 30000); no gateway, because
    // the producer below runs inside this silo.
    silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: 0, serviceId: "orleansmq-sample", clusterId: "orleansmq-sample");

    // Pulling agents ask Orleans' pub-sub grain for the explicit subscribers of each stream they see;
    // it keeps its state in this storage (in memory is enough for one silo).
    silo.AddMemoryGrainStorage("PubSubStore");

    silo.AddOrleansMQStreams(Provider, o =>
    {
        o.BootstrapServers = settings.Bootstrap;
        o.DefaultTopic = "sample-orders";   // created with 4 partitions (= 4 Orleans queues) on first use
        o.Partitions = 4;
        o.ConsumerGroup = "sample-orders";  // its committed offsets are the queues' checkpoints
        o.StartPosition = StreamStartPosition.Earliest; // a new queue (no checkpoint yet) misses nothing sent before it started

        // This sample never rewinds a subscription, so delivered batches need not stay in the cache:
        // checkpoints then follow delivery closely and the next run re-reads little of this one.
        o.CacheRetention = TimeSpan.Zero;
    });
});

using var host = builder.Build();
using var timeout = new CancellationTokenSource(settings.Timeout);
var clock = Stopwatch.StartNew();

// Each run uses stream keys of its own: events of earlier runs that are read again (delivery is
// at-least-once, from the last checkpoint) go to those runs' grains, not to this run's counts.
string run = Guid.NewGuid().ToString("N")[..8];
string[] customers = [.. Enumerable.Range(1, settings.Streams).Select(i => $"customer-{i}")];
int[] expected = [.. Enumerable.Range(0, settings.Streams).Select(i => settings.Events / settings.Streams + (i < settings.Events % settings.Streams ? 1 : 0))];
var progress = new StreamProgress[settings.Streams];
Console.WriteLine($"run {run}: {settings.Events} events over {settings.Streams} streams via {settings.Bootstrap}");

try
{
    await host.StartAsync(timeout.Token);
    var client = host.Services.GetRequiredService<IClusterClient>();
    var streams = client.GetStreamProvider(Provider);

    // Customers in parallel; one customer's orders one after another. The provider keeps a stream's
    // events in the order their OnNextAsync calls completed (one partition per stream, acks=all), so
    // awaiting each send is what makes the order of the stream well defined.
    await Parallel.ForEachAsync(Enumerable.Range(0, settings.Streams), new ParallelOptions { MaxDegreeOfParallelism = settings.Streams, CancellationToken = timeout.Token }, async (c, ct) =>
    {
        var stream = streams.GetStream<OrderPlaced>(StreamId.Create(CustomerOrdersGrain.Namespace, $"{run}/{customers[c]}"));
        for (int sequence = 0; sequence < expected[c]; sequence++)
        {
            await stream.OnNextAsync(new OrderPlaced(sequence, 10m + sequence % 90)).WaitAsync(ct);
        }
    });
    Console.WriteLine($"sent {settings.Events} events in {clock.Elapsed.TotalSeconds:F1} s");

    // Delivery is asynchronous (pulling agents read the partitions): poll the subscriber grains.
    while (true)
    {
        for (int c = 0; c < customers.Length; c++)
        {
            progress[c] = await client.GetGrain<ICustomerOrdersGrain>($"{run}/{customers[c]}").GetProgressAsync().WaitAsync(timeout.Token);
        }

        if (progress.Select((p, c) => p.Next >= expected[c]).All(done => done))
        {
            break;
        }

        await Task.Delay(200, timeout.Token);
    }
}
catch (OperationCanceledException) when (timeout.IsCancellationRequested)
{
    int got = progress.Sum(p => p?.Received ?? 0);
    Console.WriteLine($"timed out after {settings.Timeout.TotalSeconds:F0} s: received {got} of {settings.Events} events (is OrleansMQ running at {settings.Bootstrap}? `dotnet run --project Silo`)");
    return 1;
}
catch (Exception ex) when (ex is not OutOfMemoryException)
{
    Console.WriteLine($"failed: {ex.GetType().Name}: {ex.Message} (is OrleansMQ running at {settings.Bootstrap}? `dotnet run --project Silo`)");
    return 1;
}

var elapsed = clock.Elapsed;

// Stopped before the report, so that the summary is the program's last line.
using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
{
    await host.StopAsync(stop.Token);
}

for (int c = 0; c < customers.Length; c++)
{
    var p = progress[c];
    string order = p.Skips == 0 ? "in order" : $"OUT OF ORDER ({p.Skips} skips)";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{customers[c]}: {p.Received} of {expected[c]} events, {order}, total {p.Total:N2}{(p.Redelivered > 0 ? $", {p.Redelivered} redelivered" : "")}"));
}

int received = progress.Sum(p => p.Received);
bool inOrder = progress.All(p => p.Skips == 0);
Console.WriteLine($"received {received} of {settings.Events} events over {settings.Streams} streams, {(inOrder ? "in order" : "OUT OF ORDER")} ({elapsed.TotalSeconds:F1} s)");
return received == settings.Events && inOrder ? 0 : 1;

// A free TCP port on loopback, chosen by the kernel (there is a small window before Orleans binds it).
static int FreePort()
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)socket.LocalEndPoint!).Port;
}
