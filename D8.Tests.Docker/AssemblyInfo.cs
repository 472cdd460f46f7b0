using D8.Tests.Docker.Infrastructure;

// Images are built once per run (assembly fixture); every test class is in the "docker" collection, so compose
// projects run one at a time (2 cores, and each brings up several containers).
[assembly: AssemblyFixture(typeof(TestImages))]
