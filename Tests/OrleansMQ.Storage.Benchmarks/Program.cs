namespace OrleansMQ.Storage.Benchmarks;

internal static class Program
{
    public static void Main()
    {
    }
}
