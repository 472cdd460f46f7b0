using System.Data.Common;

namespace D8.Orchestrator.Storage;

/// <summary>Provider-neutral command helpers for stores that run on any <see cref="IStoreDatabase"/>.</summary>
internal static class DbCommands
{
    /// <summary>Binds <paramref name="name"/> (written <c>@name</c> in the SQL, which SQLite and Npgsql both read); null binds NULL.</summary>
    public static DbCommand With(this DbCommand cmd, string name, object? value)
    {
        var parameter = cmd.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(parameter);
        return cmd;
    }

    /// <summary>
    /// Runs one write statement as its own transaction that asks <paramref name="fence"/> before it commits; returns
    /// the rows it changed. The caller holds the store's lock (its connection is not shared between threads).
    /// </summary>
    public static int ExecuteFenced(this DbConnection connection, IWriteFence fence, string sql, params (string Name, object? Value)[] values)
    {
        using var tx = connection.BeginTransaction();
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in values) cmd.With(name, value);
        var rows = cmd.ExecuteNonQuery();
        tx.CommitFenced(fence);
        return rows;
    }
}
