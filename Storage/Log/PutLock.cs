namespace OrleansMQ.Storage.Log;

/// <summary>How appenders serialize on the single CommitLog write position.</summary>
public enum PutLockKind
{
    /// <summary>A blocking monitor (System.Threading.Lock): waiters sleep. Better when appenders outnumber cores.</summary>
    Blocking,

    /// <summary>A spin lock on an interlocked flag: no context switch, burns CPU while waiting. Better for short critical sections with few writers.</summary>
    Spin,
}

/// <summary>The put lock. Held only for the copy into the mapped segment, never across I/O.</summary>
internal abstract class PutLock
{
    public static PutLock Create(PutLockKind kind) => kind == PutLockKind.Spin ? new SpinPutLock() : new BlockingPutLock();

    public abstract void Enter();

    public abstract void Exit();

    private sealed class BlockingPutLock : PutLock
    {
        private readonly Lock _lock = new();

        public override void Enter() => _lock.Enter();

        public override void Exit() => _lock.Exit();
    }

    private sealed class SpinPutLock : PutLock
    {
        private int _held;

        public override void Enter()
        {
            if (Interlocked.CompareExchange(ref _held, 1, 0) == 0)
            {
                return;
            }

            var spinner = default(SpinWait);
            while (Volatile.Read(ref _held) == 1 || Interlocked.CompareExchange(ref _held, 1, 0) != 0)
            {
                // SpinWait yields and sleeps after a while, so a preempted holder on a 2-core box
                // does not leave the waiter burning its whole quantum.
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        public override void Exit() => Volatile.Write(ref _held, 0);
    }
}
