using Microsoft.Extensions.Hosting;
using OrleansMQ.Silo.Hosting;

// The silo: storage (recovered at start) and the Kafka broker, on embedded defaults — data in
// ./data, Kafka on 9092 — with no other service. See README for settings.
try
{
    using var host = SiloHost.Build(args);
    await host.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (ArgumentException ex)
{
    // Configuration errors: one clear line, no stack trace.
    await Console.Error.WriteLineAsync("OrleansMQ silo: invalid configuration: " + ex.Message).ConfigureAwait(false);
    return 2;
}
