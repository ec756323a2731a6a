using System.Runtime.InteropServices;

namespace OrleansMQ.Storage.Queues;

/// <summary>
/// Lets lock-free readers use memory that a mutator later unmaps. A reader brackets each
/// lookup with <see cref="Enter"/>/<see cref="Exit"/> (two interlocked operations, no
/// allocation); a mutator that has unpublished some files calls <see cref="WaitForReaders"/>
/// and may dispose them once it returns, because every reader still inside started before the
/// unpublish and has now left, and every later reader sees the new file set.
/// </summary>
/// <remarks>
/// This is a two-counter grace period (the shape of RCU's synchronize): the mutator flips the
/// epoch so new readers count in the other slot, then waits only for the old slot to drain.
/// A single counter would also be correct, but under steady read load it might never reach
/// zero and the mutator would starve. Readers hold the gate for a bounded lookup (a binary
/// search, or one msync in Flush), so the wait is short. Only one mutator may call
/// <see cref="WaitForReaders"/> at a time (callers serialize it under their own lock).
/// </remarks>
internal sealed class ReaderGate
{
    private Counters _counters;
    private int _epoch;

    /// <summary>Marks a reader as inside. Returns the token to pass to <see cref="Exit"/>.</summary>
    public int Enter()
    {
        while (true)
        {
            int epoch = Volatile.Read(ref _epoch);
            Interlocked.Increment(ref Slot(epoch));
            // Re-check after the increment (a full fence): if the epoch did not move, a mutator
            // that flips later will wait for this slot; if it moved, this slot may already be
            // considered drained, so count again in the new one.
            if (Volatile.Read(ref _epoch) == epoch)
            {
                return epoch;
            }

            Interlocked.Decrement(ref Slot(epoch));
        }
    }

    /// <summary>Marks the reader that got <paramref name="token"/> as gone.</summary>
    public void Exit(int token) => Interlocked.Decrement(ref Slot(token));

    /// <summary>
    /// Waits until every reader that entered before this call has exited. Call it after
    /// publishing the new state; memory only the old state referenced is then unreachable.
    /// </summary>
    public void WaitForReaders()
    {
        int old = Volatile.Read(ref _epoch);
        // Interlocked: the flip must be ordered after the caller's publish and before the read
        // of the old counter (the store-load order that a plain volatile write does not give).
        Interlocked.Exchange(ref _epoch, old ^ 1);
        var spin = default(SpinWait);
        while (Volatile.Read(ref Slot(old)) != 0)
        {
            spin.SpinOnce();
        }
    }

    private ref long Slot(int epoch) => ref (epoch == 0 ? ref _counters.Even : ref _counters.Odd);

    // Each counter on its own cache line, away from the object header and from each other.
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private struct Counters
    {
        [FieldOffset(64)]
        public long Even;

        [FieldOffset(128)]
        public long Odd;
    }
}
