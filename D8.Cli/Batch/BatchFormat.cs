using System.Globalization;
using D8.Contracts.OpenAi;

namespace D8.Cli.Batch;

/// <summary>One-line views of a batch for the terminal.</summary>
public static class BatchFormat
{
    /// <summary><c>batch_… in_progress: 120/50000 completed, 3 failed</c>.</summary>
    public static string Line(OpenAiBatch b) => string.Create(CultureInfo.InvariantCulture,
        $"{b.Id} {b.Status}: {b.RequestCounts.Completed}/{b.RequestCounts.Total} completed, {b.RequestCounts.Failed} failed");

    /// <summary>Where an ended batch's results are, and how to fetch them.</summary>
    public static string Files(OpenAiBatch b)
    {
        var lines = new List<string> { Line(b) };
        if (b.OutputFileId is { } output) lines.Add($"output: {output}  (d8 batch results {b.Id})");
        if (b.ErrorFileId is { } errors) lines.Add($"errors: {errors}  (d8 batch results {b.Id} --errors)");
        if (b.Errors is { Data.Count: > 0 } failed) lines.AddRange(failed.Data.Select(e => $"error: {e.Code}: {e.Message}"));
        return string.Join(Environment.NewLine, lines);
    }
}
