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

    /// <summary>
    /// The same check for stores whose writes are synchronous ADO.NET calls under their own lock (evolution, batches):
    /// a blocking database round trip, not a wait on asynchronous code.
    /// </summary>
    void Check(DbConnection connection, DbTransaction transaction);
}

/// <summary>Commits through the fence: the check runs inside the transaction, so a refused one commits nothing.</summary>
public static class FencedTransactions
{
    /// <summary>Asks <paramref name="fence"/>, then commits (a throwing fence leaves the transaction to roll back on dispose).</summary>
    public static void CommitFenced(this DbTransaction transaction, IWriteFence fence)
    {
        fence.Check(transaction.Connection!, transaction);
        transaction.Commit();
    }
}

/// <summary>The default fence: one orchestrator per store, nothing to check.</summary>
public sealed class NoWriteFence : IWriteFence
{
    /// <summary>The shared instance.</summary>
    public static readonly NoWriteFence Instance = new();

    /// <inheritdoc />
    public ValueTask CheckAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

    /// <inheritdoc />
    public void Check(DbConnection connection, DbTransaction transaction)
    {
    }
}
