using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using D8.Cli;
using D8.Cli.Configuration;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;

namespace D8.Tests.Docs;

/// <summary>
/// Keeps the README and docs/ true to the code: every D8_* key a process reads is documented (and every documented key
/// is read), every `d8 …` command line parses with the CLI's own parser, every relative link and anchor resolves, the
/// README stays a ten-minute read, and each diagram's committed rendering matches its Graphviz source.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class DocsDriftTests
{
    private static readonly string Root = AppPaths.RepoRoot;

    /// <summary>Projects whose source is a process that reads configuration (what a user can set).</summary>
    private static readonly string[] ProcessProjects =
        ["D8.Orchestrator", "D8.Worker", "D8.Cli", "D8.ServiceDefaults", "D8.AppHost", "D8.Contracts", "D8.Emulators", "D8.Emulators.Server"];

    /// <summary>Projects that also read keys (tests, benchmarks): a documented key read only there is still real.</summary>
    private static readonly string[] OtherProjects = ["D8.Tests", "D8.Tests.Docker", "D8.Benchmarks"];

    [Fact]
    public void EveryD8KeyAProcessReadsIsInTheDocs()
    {
        var documented = DocumentedKeys(DocsPages());
        var missing = ReadKeys(ProcessProjects).Concat(ComposeKeys()).Distinct().Where(k => !documented.Contains(k)).Order().ToList();
        Assert.True(missing.Count == 0,
            "Keys read by a D8 process but named on no docs/*.md page (add a row to docs/configuration.md): " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryDocumentedD8KeyIsReadSomewhere()
    {
        var read = ReadKeys([.. ProcessProjects, .. OtherProjects]).Concat(ComposeKeys()).ToHashSet(StringComparer.Ordinal);
        var pages = DocsPages().Append(Path.Combine(Root, "README.md"));
        var unknown = pages.SelectMany(page => DocumentedKeys([page]).Where(k => !read.Contains(k)).Select(k => $"{k} ({Rel(page)})")).Order().ToList();
        Assert.True(unknown.Count == 0, "Keys the documentation names that no project reads: " + string.Join(", ", unknown));
    }

    [Fact]
    public void EveryD8CommandLineInTheDocsParses()
    {
        var root = CliApp.BuildRoot(new CliContext(new CliEnvironment
        {
            Variables = new Dictionary<string, string>(),
            WorkingDirectory = Root,
            HomeDirectory = Path.GetTempPath(),
            System = new FakeSystem(),
        }, TextWriter.Null, TextWriter.Null, new ConnectionOptions()));
        var checkedLines = 0;
        var problems = new List<string>();
        foreach (var page in DocsPages().Prepend(Path.Combine(Root, "README.md")))
        {
            foreach (var (line, args) in D8CommandLines(File.ReadAllText(page)))
            {
                checkedLines++;
                var parse = root.Parse(args);
                // A bare mention such as `d8 submit` leaves out a required argument; what must never happen is a
                // subcommand, option or option value the CLI does not accept.
                var errors = parse.Errors.Select(e => e.Message)
                    .Where(m => !m.StartsWith("Required argument missing", StringComparison.Ordinal)
                                && !m.StartsWith("Required command was not provided", StringComparison.Ordinal)).ToList();
                if (errors.Count > 0) problems.Add($"{Rel(page)}: `{line}`: {string.Join("; ", errors)}");
            }
        }
        Assert.True(checkedLines >= 20, $"only {checkedLines} d8 command lines found: is the extraction broken?");
        Assert.True(problems.Count == 0, "d8 command lines the CLI does not accept:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void EveryRelativeLinkAndAnchorResolves()
    {
        var problems = new List<string>();
        var links = 0;
        foreach (var page in DocsPages().Prepend(Path.Combine(Root, "README.md")))
        {
            foreach (var target in Links(File.ReadAllText(page)))
            {
                if (UriScheme().IsMatch(target)) continue;
                links++;
                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var file = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var path = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(file)));
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    problems.Add($"{Rel(page)}: ({target}): {Rel(path)} does not exist");
                    continue;
                }
                if (anchor is { Length: > 0 } && path.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(path)).Contains(anchor))
                {
                    problems.Add($"{Rel(page)}: ({target}): no heading with anchor #{anchor} in {Rel(path)}");
                }
            }
        }
        Assert.True(links >= 30, $"only {links} relative links found: is the extraction broken?");
        Assert.True(problems.Count == 0, "Broken links:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void ReadmeIsATenMinuteRead()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "README.md")).Length;
        Assert.True(lines <= 300, $"README.md has {lines} lines; keep it at most 300 and move reference material to docs/");
    }

    [Fact]
    public void EveryDiagramIsRenderedFromItsCurrentSource()
    {
        var sources = Directory.GetFiles(Path.Combine(Root, "docs", "diagrams"), "*.dot");
        Assert.NotEmpty(sources);
        var problems = new List<string>();
        foreach (var source in sources)
        {
            var svg = Path.ChangeExtension(source, ".svg");
            var png = Path.ChangeExtension(source, ".png");
            if (!File.Exists(svg) || !File.Exists(png))
            {
                problems.Add($"{Rel(source)}: render it (docs/diagrams/render.sh); missing {(File.Exists(svg) ? Rel(png) : Rel(svg))}");
                continue;
            }
            var pngHeader = File.ReadAllBytes(png).Take(8).ToArray();
            if (!pngHeader.SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })) problems.Add($"{Rel(png)} is not a PNG");
            // The rendering is current when every label line of the source is a text of the SVG.
            var texts = SvgText().Matches(File.ReadAllText(svg)).Select(m => Normalize(WebUtility.HtmlDecode(m.Groups[1].Value))).ToHashSet(StringComparer.Ordinal);
            foreach (Match label in DotLabel().Matches(File.ReadAllText(source)))
            {
                foreach (var part in label.Groups[1].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Split("\\n"))
                {
                    var text = Normalize(part);
                    if (text.Length > 0 && !texts.Contains(text)) problems.Add($"{Rel(svg)} lacks \"{text}\" from {Rel(source)}: re-render (docs/diagrams/render.sh)");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    // ---- extraction ----

    private static IEnumerable<string> DocsPages() =>
        Directory.GetFiles(Path.Combine(Root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    private static string Rel(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>Every "D8_…" string literal in the project's C# source.</summary>
    private static IEnumerable<string> ReadKeys(IEnumerable<string> projects) =>
        projects.Select(p => Path.Combine(Root, p)).Where(Directory.Exists)
            .SelectMany(dir => Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => KeyLiteral().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Distinct(StringComparer.Ordinal);

    /// <summary>The D8_* variables the committed compose file and .env.example use.</summary>
    private static IEnumerable<string> ComposeKeys()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.generated.yml"));
        var env = File.ReadAllLines(Path.Combine(Root, ".env.example"));
        return ComposeVariable().Matches(compose).Select(m => m.Groups[1].Value)
            .Concat(env.Select(l => EnvLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value))
            .Distinct(StringComparer.Ordinal);
    }

    /// <summary>The D8_* keys named in these pages (a wildcard such as D8_TLS* or D8_AUTH_FAILURE_* names no key).</summary>
    private static HashSet<string> DocumentedKeys(IEnumerable<string> pages) =>
        pages.SelectMany(p => DocKey().Matches(File.ReadAllText(p)).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The d8 command lines of a page: in shell code blocks (bash, sh, shell, console) and in inline code spans.</summary>
    internal static IEnumerable<(string Line, string[] Args)> D8CommandLines(string markdown)
    {
        var inCode = false;
        var inShell = false;
        foreach (var raw in markdown.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                inShell = inCode && line.Trim().TrimStart('`').Trim() is "bash" or "sh" or "shell" or "console";
                continue;
            }
            if (inCode && !inShell) continue;
            var candidates = inCode
                ? ShellSegments(line)
                : InlineCode().Matches(line).SelectMany(m => ShellSegments(m.Groups[1].Value));
            foreach (var segment in candidates)
            {
                var tokens = Tokenize(segment);
                var start = CommandStart(tokens);
                if (start < 0) continue;
                var args = tokens.Skip(start).Where(t => t != "…").ToArray();
                yield return (segment.Trim(), args);
            }
        }
    }

    /// <summary>Index of the first d8 argument: after "d8", or after "dotnet run --project D8.Cli --"; -1 if not a d8 line.</summary>
    private static int CommandStart(IReadOnlyList<string> tokens)
    {
        if (tokens.Count >= 1 && tokens[0] == "d8") return 1;
        if (tokens.Count >= 4 && tokens[0] == "dotnet" && tokens[1] == "run")
        {
            var project = tokens.ToList().IndexOf("--project");
            var dashes = tokens.ToList().IndexOf("--");
            if (project >= 0 && project + 1 < tokens.Count && tokens[project + 1].TrimEnd('/') == "D8.Cli" && dashes > project) return dashes + 1;
        }
        return -1;
    }

    /// <summary>A shell line without its comment, split at ; &amp;&amp; || | (outside quotes).</summary>
    private static IEnumerable<string> ShellSegments(string line)
    {
        var segments = new List<string>();
        var current = new StringBuilder();
        char quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                current.Append(c);
                continue;
            }
            if (c is '"' or '\'') { quote = c; current.Append(c); continue; }
            if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1]))) break;
            if (c is ';' or '|' or '&' or '(' or ')')
            {
                segments.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(c);
        }
        segments.Add(current.ToString());
        return segments.Select(s => s.Trim()).Where(s => s.Length > 0);
    }

    /// <summary>Shell words: whitespace-separated, quotes grouping and removed.</summary>
    private static List<string> Tokenize(string segment)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var inToken = false;
        char quote = '\0';
        foreach (var c in segment)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else current.Append(c);
                continue;
            }
            if (c is '"' or '\'') { quote = c; inToken = true; continue; }
            if (char.IsWhiteSpace(c))
            {
                if (inToken) tokens.Add(current.ToString());
                current.Clear();
                inToken = false;
                continue;
            }
            current.Append(c);
            inToken = true;
        }
        if (inToken) tokens.Add(current.ToString());
        return tokens;
    }

    /// <summary>Link and image targets outside code blocks and code spans.</summary>
    private static IEnumerable<string> Links(string markdown)
    {
        var inCode = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }
            if (inCode) continue;
            foreach (Match m in MarkdownLink().Matches(InlineCode().Replace(line, "")))
            {
                yield return m.Groups[1].Value.Trim();
            }
        }
    }

    /// <summary>GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens, -1 -2 for repeats.</summary>
    internal static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var inCode = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }
            if (inCode || Heading().Match(line.TrimEnd('\r')) is not { Success: true } h) continue;
            var text = h.Groups[1].Value.Trim();
            var slug = new string(text.ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is '-' or '_' or ' ').ToArray()).Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++) unique = $"{slug}-{n}";
        }
        return anchors;
    }

    private static string Normalize(string text) => Whitespace().Replace(text, " ").Trim();

    [GeneratedRegex("\"(D8_[A-Z0-9_]+)\"")]
    private static partial Regex KeyLiteral();

    [GeneratedRegex(@"\$\{(D8_[A-Z0-9_]+)")]
    private static partial Regex ComposeVariable();

    [GeneratedRegex(@"^(D8_[A-Z0-9_]+)=")]
    private static partial Regex EnvLine();

    [GeneratedRegex(@"(?>\bD8_[A-Z0-9]+(?:_[A-Z0-9]+)*)(?!_?\*)")]
    private static partial Regex DocKey();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"!?\[[^\]]*\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex UriScheme();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"<text[^>]*>([^<]*)</text>")]
    private static partial Regex SvgText();

    [GeneratedRegex(@"label=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex DotLabel();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
