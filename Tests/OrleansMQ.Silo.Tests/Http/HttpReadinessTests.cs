using System.Net;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>/readyz answers 503 while the group coordinator loads, 200 once it has; /healthz is 200 throughout.</summary>
public sealed class HttpReadinessTests
{
    [Fact]
    public async Task Readyz_is_503_until_the_group_coordinator_has_loaded()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silo = await TestSilo.StartAsync(groupsLoadGate: gate.Task);
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            using (var loading = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                string text = await loading.Content.ReadAsStringAsync();
                Assert.True(loading.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)loading.StatusCode}: {text}");
                Assert.Contains("group coordinator loading", text, StringComparison.Ordinal);
            }

            using (var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }

            using (var groups = await http.GetAsync(new Uri("/orleansmq/v1/groups", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, groups.StatusCode);
                Assert.Equal("application/problem+json", groups.Content.Headers.ContentType?.MediaType);
            }
        }
        finally
        {
            gate.TrySetResult(); // never leave the silo stuck loading, even when an assertion failed
        }

        await silo.Groups.WhenLoaded;
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
