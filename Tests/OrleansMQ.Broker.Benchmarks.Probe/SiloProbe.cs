using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace OrleansMQ.Broker.Benchmarks.Probe;

/// <summary>
/// Runs inside the silo process. Answers one line per connection on a Unix socket: <c>heap</c> →
/// <c>heap=BYTES activations=N|n/a source=... rss=BYTES</c>, the managed heap after three forced,
/// blocking, compacting full collections (as the in-process measurement did) and the number of
/// grain activations, read without referencing the silo:
/// <list type="bullet">
/// <item>Orleans silos: the sum of the <c>orleans-catalog-activations</c> gauge (meter
/// <c>Microsoft.Orleans</c>), through a <see cref="MeterListener"/>;</item>
/// <item>the pre-Orleans grain host: <c>KafkaServerHostedService._grains.ActivationCount</c> by
/// reflection, the service found through the host the "Microsoft.Extensions.Hosting" diagnostic
/// listener announces when it is built;</item>
/// <item>otherwise <c>n/a</c>. Nothing here may fail the silo: every lookup is guarded.</item>
/// </list>
/// </summary>
internal static class SiloProbe
{
    public const string SocketVariable = "OMQ_BENCH_PROBE_SOCKET";
    private const string ActivationsInstrument = "orleans-catalog-activations";
    private static readonly Lock Gate = new();
    private static MeterListener? _meters;
    private static bool _sawActivations;
    private static long _activations;
    private static long _activationsRunning;
    private static readonly List<object> Hosts = [];

    public static void Start(string socketPath)
    {
        try
        {
            StartMeterListener();
            DiagnosticListener.AllListeners.Subscribe(new Observer<DiagnosticListener>(listener =>
            {
                if (listener.Name == "Microsoft.Extensions.Hosting")
                {
                    listener.Subscribe(new Observer<KeyValuePair<string, object?>>(e =>
                    {
                        if (e.Key == "HostBuilt" && e.Value is { } host)
                        {
                            lock (Hosts)
                            {
                                Hosts.Add(host);
                            }
                        }
                    }));
                }
            }));
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException)
        {
        }

        File.Delete(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        socket.Listen(4);
        new Thread(() => Serve(socket)) { IsBackground = true, Name = "omq-bench-probe" }.Start();
    }

    private static void Serve(Socket listener)
    {
        while (true)
        {
            try
            {
                using var client = listener.Accept();
                var buffer = new byte[256];
                int n = 0;
                while (n < buffer.Length)
                {
                    int read = client.Receive(buffer, n, buffer.Length - n, SocketFlags.None);
                    if (read == 0 || Array.IndexOf(buffer, (byte)'\n', n, read) >= 0)
                    {
                        n += read;
                        break;
                    }

                    n += read;
                }

                string command = Encoding.ASCII.GetString(buffer, 0, n).Trim();
                string answer = command == "heap" ? Heap() : "error=unknown command";
                client.Send(Encoding.ASCII.GetBytes(answer + "\n"));
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private static string Heap()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        long heap = GC.GetTotalMemory(forceFullCollection: true);
        var (activations, source) = Activations();
        using var self = Process.GetCurrentProcess();
        return string.Create(CultureInfo.InvariantCulture,
            $"heap={heap} activations={(activations is { } a ? a.ToString(CultureInfo.InvariantCulture) : "n/a")} source={source} rss={self.WorkingSet64}");
    }

    private static (long? Count, string Source) Activations()
    {
        try
        {
            lock (Gate)
            {
                if (_meters is not null)
                {
                    _sawActivations = false;
                    _activations = 0;
                    _meters.RecordObservableInstruments();
                    if (_sawActivations)
                    {
                        return (_activations + _activationsRunning, "orleans-meter");
                    }
                }
            }

            var (count, why) = GrainHostActivations();
            return count is null ? (null, why) : (count, "grain-host");
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or TargetInvocationException or MemberAccessException or ArgumentException)
        {
            return (null, "error:" + ex.GetType().Name);
        }
    }

    private static void StartMeterListener()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == ActivationsInstrument)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => Record(instrument, value));
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument, value));
        listener.Start();
        _meters = listener;
    }

    /// <summary>Observable gauges (one observation per grain type) are summed per <see cref="MeterListener.RecordObservableInstruments"/>; an up-down counter accumulates.</summary>
    private static void Record(Instrument instrument, long value)
    {
        if (instrument.IsObservable)
        {
            _sawActivations = true;
            _activations += value;
        }
        else
        {
            _sawActivations = true;
            Interlocked.Add(ref _activationsRunning, value);
        }
    }

    /// <summary>The pre-Orleans silo: its grain host's count, by reflection (null and the missing piece if anything is missing).</summary>
    private static (long? Count, string Why) GrainHostActivations()
    {
        List<object> hosts;
        lock (Hosts)
        {
            hosts = [.. Hosts];
        }

        if (hosts.Count == 0)
        {
            return (null, "none:no-host-built-event");
        }

        var type = AppDomain.CurrentDomain.GetAssemblies()
            .Select(a => a.GetType("OrleansMQ.Silo.Hosting.KafkaServerHostedService", throwOnError: false))
            .FirstOrDefault(t => t is not null);
        if (type is null)
        {
            return (null, "none:no-KafkaServerHostedService-type");
        }

        // The silo's host, not the HTTP gateway's (each announces itself).
        object? kafka = hosts.Select(h => h.GetType().GetProperty("Services")?.GetValue(h) as IServiceProvider).Select(sp => sp?.GetService(type)).FirstOrDefault(k => k is not null);
        if (kafka is null)
        {
            return (null, "none:no-KafkaServerHostedService");
        }

        if (type.GetField("_grains", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(kafka) is not { } grains)
        {
            return (null, "none:no-_grains");
        }

        return grains.GetType().GetProperty("ActivationCount")?.GetValue(grains) is int count ? (count, "") : (null, "none:no-ActivationCount");
    }

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(T value) => onNext(value);
    }
}
