using System.Collections.Concurrent;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// The state of every activated group, published by its grain after each call, so ListGroups
/// answers without activating (or waiting on) every group.
/// </summary>
public sealed class GroupDirectory
{
    private readonly ConcurrentDictionary<string, (GroupState State, string? ProtocolType)> _groups = new(StringComparer.Ordinal);

    public void Publish(string groupId, GroupState state, string? protocolType) => _groups[groupId] = (state, protocolType);

    public void Remove(string groupId) => _groups.TryRemove(groupId, out _);

    public bool TryGet(string groupId, out (GroupState State, string? ProtocolType) entry) => _groups.TryGetValue(groupId, out entry);

    public IEnumerable<KeyValuePair<string, (GroupState State, string? ProtocolType)>> Entries => _groups;
}
