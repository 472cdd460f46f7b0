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
}
