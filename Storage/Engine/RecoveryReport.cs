using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Engine;

/// <summary>What the last open's recovery did.</summary>
public sealed record RecoveryReport(bool CleanShutdown, bool CheckpointValid, CommitLogRecovery CommitLog, long EntriesReplayed, TimeSpan Elapsed);
