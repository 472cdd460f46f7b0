namespace D8.Orchestrator.Batches;

/// <summary>
/// Settings of the Batch API (<c>/v1/files</c>, <c>/v1/batches</c>): D8_MAX_FILE_BYTES, D8_FILES_PATH, D8_BATCH_WINDOW,
/// D8_BATCH_PRIORITY. Files and batches are deleted D8_RETENTION_DAYS after they ended, like tasks.
/// </summary>
public sealed record BatchOptions
{
    /// <summary>Most requests (non-empty lines) one batch may hold, as OpenAI's limit.</summary>
    public const int MaxRequests = 50_000;

    /// <summary>Largest upload accepted by <c>POST /v1/files</c> (413 beyond).</summary>
    public long MaxFileBytes { get; init; } = 200L * 1024 * 1024;
    /// <summary>Folder of file bodies (uploads and the output/error files batches write).</summary>
    public required string FilesPath { get; init; }
    /// <summary>Most tasks of one batch queued or running at once; the rest of its lines stay on disk until then.</summary>
    public int Window { get; init; } = 1000;
    /// <summary>Priority of a batch's tasks (0–9) unless its metadata says <c>d8_priority</c>; below the interactive default 5.</summary>
    public int Priority { get; init; } = 2;

    /// <summary>Reads the keys; a bad value is refused through <paramref name="settings"/>.</summary>
    public static BatchOptions Load(SettingsReader settings, string dbPath)
    {
        var files = settings.Text("D8_FILES_PATH");
        return new BatchOptions
        {
            MaxFileBytes = settings.Whole("D8_MAX_FILE_BYTES", 200L * 1024 * 1024, 1024, 1L << 40),
            FilesPath = Path.GetFullPath(files ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dbPath)) ?? ".", "files")),
            Window = (int)settings.Whole("D8_BATCH_WINDOW", 1000, 1, MaxRequests),
            Priority = (int)settings.Whole("D8_BATCH_PRIORITY", 2, 0, 9),
        };
    }
}
