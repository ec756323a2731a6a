using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// Tests that read process-wide counters (GC.GetTotalAllocatedBytes, GC.GetTotalMemory) run alone:
/// another test's silo in the same process (its Orleans runtime, its clients) allocates tens of
/// MiB in the same 300 ms and would be counted as theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMeasurementGroup
{
    public const string Name = "process-wide memory measurements (run alone)";
}
