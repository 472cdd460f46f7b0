using System.Text;

namespace D8.Cli.Setup;

/// <summary>
/// A docker-compose style .env file: KEY=VALUE lines, comments and blank lines kept as they are.
/// Setting a key replaces its line or appends one, so hand edits survive a second setup run.
/// </summary>
public sealed class EnvFile
{
    private readonly List<string> _lines;

    private EnvFile(List<string> lines) => _lines = lines;

    public static EnvFile Empty() => new([]);

    public static EnvFile Parse(string text) => new(text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n').ToList());

    public static EnvFile Load(string path) => File.Exists(path) ? Parse(File.ReadAllText(path)) : Empty();

    /// <summary>Every key with its value (quotes removed); a later line wins, as in compose.</summary>
    public IReadOnlyDictionary<string, string> Values
    {
        get
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in _lines)
            {
                if (TrySplit(line, out var key, out var value)) values[key] = value;
            }
            return values;
        }
    }

    public string? Get(string key) => Values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    /// <summary>Sets a key (null removes it).</summary>
    public void Set(string key, string? value)
    {
        var index = _lines.FindIndex(l => TrySplit(l, out var k, out _) && k == key);
        if (value is null)
        {
            if (index >= 0) _lines.RemoveAt(index);
            return;
        }
        var line = $"{key}={Quote(value)}";
        if (index >= 0) _lines[index] = line;
        else _lines.Add(line);
    }

    /// <summary>Writes the file readable by its owner only (it holds secrets).</summary>
    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var text = string.Join('\n', _lines) + "\n";
        var temp = path + ".tmp";
        // Created 0600, never readable by others even for a moment (a chmod after writing leaves a window).
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        File.Delete(temp);
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            writer.Write(text);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Adds a comment line unless it is already there.</summary>
    public void Comment(string text)
    {
        var line = "# " + text;
        if (!_lines.Contains(line)) _lines.Add(line);
    }

    private static bool TrySplit(string line, out string key, out string value)
    {
        key = value = "";
        var trimmed = line.TrimStart();
        if (trimmed.Length == 0 || trimmed[0] == '#') return false;
        if (trimmed.StartsWith("export ", StringComparison.Ordinal)) trimmed = trimmed[7..];
        var eq = trimmed.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0) return false;
        key = trimmed[..eq].Trim();
        value = trimmed[(eq + 1)..].Trim();
        if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
        {
            value = value[1..^1];
        }
        return true;
    }

    // Compose reads unquoted values literally up to an inline " #"; quote anything that could be misread.
    private static string Quote(string value)
    {
        if (value.Length == 0 || value.IndexOfAny([' ', '#', '"', '\'', '$', '\\', '\t']) < 0) return value;
        if (value.Contains('\'', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal))
        {
            throw new CliException("a value with a single quote or a line break cannot be written to a .env file");
        }
        return "'" + value + "'";
    }
}
