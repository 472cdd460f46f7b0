using Xunit.Abstractions;
using Xunit.Sdk;

namespace D8.Tests.Infrastructure;

/// <summary>
/// A fact of a <see cref="StoreTests"/> class. In a PostgreSQL subclass (<see cref="IPostgresStoreTests"/>) it is skipped
/// with the reason where no PostgreSQL server can be had — except under CI, where it runs (and fails), as
/// <see cref="PostgresFactAttribute"/> does. <see cref="SqliteOnly"/>: a test about the SQLite file itself, which the
/// PostgreSQL subclass does not inherit.
/// </summary>
[XunitTestCaseDiscoverer("D8.Tests.Infrastructure.StoreFactDiscoverer", "D8.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute
{
    /// <summary>Runs on SQLite only (it edits or inspects the database file).</summary>
    public bool SqliteOnly { get; set; }
}

/// <summary>The theory form of <see cref="StoreFactAttribute"/>.</summary>
[XunitTestCaseDiscoverer("D8.Tests.Infrastructure.StoreTheoryDiscoverer", "D8.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreTheoryAttribute : TheoryAttribute;

/// <summary>Finds <see cref="StoreFactAttribute"/> tests, skipped or left out in PostgreSQL classes as it says.</summary>
public sealed class StoreFactDiscoverer(IMessageSink diagnostics) : FactDiscoverer(diagnostics)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        if (!StoreSkip.OnPostgres(testMethod)) return base.Discover(discoveryOptions, testMethod, factAttribute);
        if (factAttribute.GetNamedArgument<bool>(nameof(StoreFactAttribute.SqliteOnly))) return [];
        if (StoreSkip.Reason is null) return base.Discover(discoveryOptions, testMethod, factAttribute);
        return [new SkippedStoreTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
    }
}

/// <summary>Finds <see cref="StoreTheoryAttribute"/> tests, skipped in PostgreSQL classes where no server can be had.</summary>
public sealed class StoreTheoryDiscoverer(IMessageSink diagnostics) : TheoryDiscoverer(diagnostics)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute)
    {
        if (!StoreSkip.OnPostgres(testMethod) || StoreSkip.Reason is null) return base.Discover(discoveryOptions, testMethod, theoryAttribute);
        return [new SkippedStoreTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
    }
}

internal static class StoreSkip
{
    /// <summary>Why PostgreSQL tests skip here, or null when they run (a server can be had, or CI demands it).</summary>
    public static string? Reason => PostgresFactAttribute.RunsUnderCi ? null : PostgresServer.Unavailable;

    public static bool OnPostgres(ITestMethod testMethod) =>
        typeof(IPostgresStoreTests).IsAssignableFrom(testMethod.TestClass.Class.ToRuntimeType());
}

/// <summary>A PostgreSQL variant of a test, reported skipped with the reason no server can be had.</summary>
public sealed class SkippedStoreTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkippedStoreTestCase() { }

    public SkippedStoreTestCase(IMessageSink diagnostics, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod testMethod)
        : base(diagnostics, display, options, testMethod) { }

    protected override string GetSkipReason(IAttributeInfo factAttribute) => StoreSkip.Reason ?? "PostgreSQL is available";
}
