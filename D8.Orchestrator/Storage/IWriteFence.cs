using System.Data.Common;

namespace D8.Orchestrator.Storage;

/// <summary>
/// Called inside every PostgreSQL write transaction (group commit, retention purge, evolution and batch writes) just
/// before it commits. A fence that throws makes the transaction roll back: nothing of it is acknowledged, the store
/// reports a <see cref="ITaskStore.Problem"/> and the callers' tasks fault. The standby mode registers one that checks
/// this orchestrator still holds the leader lease (a deposed leader can never write again).
/// </summary>
public interface IWriteFence
{
    /// <summary>Throws when this process may no longer write; runs on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    ValueTask CheckAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);
}

/// <summary>The default fence: one orchestrator per store, nothing to check.</summary>
public sealed class NoWriteFence : IWriteFence
{
    /// <summary>The shared instance.</summary>
    public static readonly NoWriteFence Instance = new();

    /// <inheritdoc />
    public ValueTask CheckAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;
}
