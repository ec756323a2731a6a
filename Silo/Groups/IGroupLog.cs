namespace OrleansMQ.Silo.Groups;

/// <summary>
/// Where a group's records go: appended durably (the same guarantee as produced data) and then
/// applied to the group's <see cref="StoredGroup"/>. Nothing is applied when the append fails.
/// </summary>
public interface IGroupLog
{
    /// <summary>Appends and applies <paramref name="records"/>; returns <see cref="GroupError.None"/> or why it failed.</summary>
    Task<GroupError> AppendAsync(StoredGroup group, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken = default);
}
