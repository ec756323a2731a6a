using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansMQ.Silo.Hosting;

// Minimal silo host: configuration (appsettings.json, OrleansMQ__... environment variables,
// command-line flags) and the storage service. The Kafka listener joins it with the broker issue.
var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--data"] = "OrleansMQ:Storage:DataDirectory",
    ["--flush"] = "OrleansMQ:Storage:Flush",
    ["--segment-size"] = "OrleansMQ:Storage:SegmentSize",
});

var settings = new StorageSettings();
builder.Configuration.GetSection("OrleansMQ:Storage").Bind(settings);
builder.Services.AddSingleton(settings.ToOptions());
builder.Services.AddSingleton<StorageHostedService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<StorageHostedService>());

using var host = builder.Build();
await host.RunAsync().ConfigureAwait(false);
