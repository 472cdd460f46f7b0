namespace D8.Orchestrator.Evolution;

/// <summary>
/// The per-case Pareto front of a pool of fully scored candidates (GEPA's selection): a candidate is on it when it is
/// best, or tied best, on at least one case and no other candidate dominates it (at least as good on every case,
/// better on one). Candidates with identical scores count once (the earliest in pool order). Each member leads the
/// cases it is best on; parents are drawn with weight by how many cases they lead, so a prompt that alone solves one
/// hard case keeps a chance however low its mean.
/// </summary>
public sealed class ParetoFront
{
    private const double Tie = 1e-12;

    private ParetoFront(IReadOnlyList<Member> members) => Members = members;

    /// <summary>A front member: its index in the pool and the cases it leads (best or tied best).</summary>
    public sealed record Member(int Index, IReadOnlySet<int> Leads);

    /// <summary>Members in pool order.</summary>
    public IReadOnlyList<Member> Members { get; }

    /// <summary>The front of <paramref name="scores"/> (one fully known score vector per candidate, all the same length).</summary>
    public static ParetoFront Of(IReadOnlyList<IReadOnlyList<double>> scores)
    {
        if (scores.Count == 0) return new ParetoFront([]);
        var cases = scores[0].Count;
        var best = new double[cases];
        for (var c = 0; c < cases; c++) best[c] = scores.Max(s => s[c]);
        var candidates = new List<int>();
        for (var i = 0; i < scores.Count; i++)
        {
            if (!Enumerable.Range(0, cases).Any(c => scores[i][c] >= best[c] - Tie)) continue;
            // Identical scores: the earliest stands for all of them.
            if (candidates.Any(j => Enumerable.Range(0, cases).All(c => Math.Abs(scores[j][c] - scores[i][c]) <= Tie))) continue;
            candidates.Add(i);
        }
        var members = new List<Member>();
        foreach (var i in candidates)
        {
            if (candidates.Any(j => j != i && Dominates(scores[j], scores[i]))) continue;
            members.Add(new Member(i, Enumerable.Range(0, cases).Where(c => scores[i][c] >= best[c] - Tie).ToHashSet()));
        }
        return new ParetoFront(members);
    }

    /// <summary>a is at least as good as b on every case and better on one.</summary>
    public static bool Dominates(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var better = false;
        for (var c = 0; c < a.Count; c++)
        {
            if (a[c] < b[c] - Tie) return false;
            if (a[c] > b[c] + Tie) better = true;
        }
        return better;
    }

    /// <summary>
    /// A member drawn with weight by the number of cases it leads; <paramref name="u"/> is the draw, uniform in
    /// [0, 1) (from the generation plan, so the pick does not depend on timing).
    /// </summary>
    public Member Draw(double u) => Weighted(Members, m => m.Leads.Count, u)!;

    /// <summary>
    /// A merge partner for <paramref name="a"/>: a member that leads on a case <paramref name="a"/> does not, drawn
    /// with weight by how many such cases it leads; null when every other member leads only where a does.
    /// </summary>
    public Member? Partner(Member a, double u) =>
        Weighted([.. Members.Where(m => m != a)], m => m.Leads.Count(c => !a.Leads.Contains(c)), u);

    private static Member? Weighted(IReadOnlyList<Member> members, Func<Member, int> weight, double u)
    {
        var total = members.Sum(weight);
        if (total == 0) return null;
        var target = u * total;
        foreach (var m in members)
        {
            var w = weight(m);
            if (w == 0) continue;
            if (target < w) return m;
            target -= w;
        }
        return members.Last(m => weight(m) > 0);
    }
}
