using Orleans;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// Thrown by a group grain called on a silo that no longer coordinates groups (it stopped leading
/// the offsets partition): the grain deactivates, and <see cref="GroupService"/> answers the call
/// NOT_COORDINATOR, so the client finds the new coordinator, whose call activates the group there.
/// One exception instead of an error value per method because every grain method needs the same
/// answer, including those whose result has no error field (FetchOffsets, Describe).
/// </summary>
[GenerateSerializer]
public sealed class NotCoordinatorException : Exception
{
    public NotCoordinatorException()
    {
    }

    public NotCoordinatorException(string message)
        : base(message)
    {
    }

    public NotCoordinatorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
