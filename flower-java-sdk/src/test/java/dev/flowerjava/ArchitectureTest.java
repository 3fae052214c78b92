package dev.flowerjava;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import dev.flowerjava.internal.client.ClientTransport;
import dev.flowerjava.server.ClientProxy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The architecture of CONTRIBUTING.md ("Layers" and "Public API"), kept true: each rule here is one
 * sentence of that section, and a change that breaks it fails the build.
 */
class ArchitectureTest {
  private static final JavaClasses SDK =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.flowerjava");

  /** Packages whose types may never show in the public API. */
  private static final List<String> HIDDEN =
      List.of("dev.flowerjava.internal", "io.grpc", "com.google.protobuf");

  /** The Message API's package, whose types count against a budget of their own. */
  private static final String MESSAGE_API = "dev.flowerjava.message";

  /** The simulation API's package, whose types count against a budget of their own. */
  private static final String SIMULATION_API = "dev.flowerjava.simulation";

  private static final Path ROOT = Path.of(System.getProperty("flowerjava.root", ".."));

  private static boolean isApi(JavaClass c) {
    return c.getPackageName().startsWith("dev.flowerjava")
        && !c.getPackageName().startsWith("dev.flowerjava.internal");
  }

  /** Public, or nested public all the way out: what a user can name. */
  private static boolean isVisible(JavaClass c) {
    if (!c.getModifiers().contains(JavaModifier.PUBLIC)) {
      return false;
    }
    return c.getEnclosingClass().map(ArchitectureTest::isVisible).orElse(true);
  }

  private static boolean visibleMember(Set<JavaModifier> m) {
    return m.contains(JavaModifier.PUBLIC) || m.contains(JavaModifier.PROTECTED);
  }

  private static boolean hidden(JavaClass type) {
    String name = type.getName();
    return HIDDEN.stream().anyMatch(p -> name.startsWith(p + "."));
  }

  @Test
  void theApiExposesNoInternalOrGeneratedType() {
    ArchCondition<JavaClass> exposesNothingHidden =
        new ArchCondition<>("expose no internal, gRPC or protobuf type in a visible signature") {
          @Override
          public void check(JavaClass c, ConditionEvents events) {
            List<String> found = new ArrayList<>();
            c.getRawSuperclass()
                .filter(ArchitectureTest::hidden)
                .ifPresent(s -> found.add("extends " + s.getName()));
            c.getRawInterfaces().stream()
                .filter(ArchitectureTest::hidden)
                .forEach(i -> found.add("implements " + i.getName()));
            for (JavaCodeUnit u : c.getCodeUnits()) {
              if (!visibleMember(u.getModifiers())
                  || u.getModifiers().contains(JavaModifier.SYNTHETIC)) {
                continue;
              }
              List<JavaType> types = new ArrayList<>(u.getParameterTypes());
              types.add(u.getReturnType());
              u.getThrowsClause().getTypes().forEach(types::add);
              for (JavaType t : types) {
                t.getAllInvolvedRawTypes().stream()
                    .filter(ArchitectureTest::hidden)
                    .forEach(h -> found.add(u.getFullName() + " uses " + h.getName()));
              }
            }
            for (JavaField f : c.getFields()) {
              if (visibleMember(f.getModifiers())) {
                f.getType().getAllInvolvedRawTypes().stream()
                    .filter(ArchitectureTest::hidden)
                    .forEach(h -> found.add(f.getFullName() + " is a " + h.getName()));
              }
            }
            found.forEach(f -> events.add(SimpleConditionEvent.violated(c, f)));
          }
        };
    classes()
        .that(
            DescribedPredicate.describe(
                "are API types a user can name", (JavaClass c) -> isApi(c) && isVisible(c)))
        .should(exposesNothingHidden)
        .check(SDK);
  }

  @Test
  void layersOnlyDependDownwards() {
    layeredArchitecture()
        .consideringOnlyDependenciesInLayers()
        .layer("Base")
        .definedBy("dev.flowerjava")
        .layer("Tensor")
        .definedBy("dev.flowerjava.tensor..")
        .layer("Typing")
        .definedBy("dev.flowerjava.typing..")
        .layer("Shared internals")
        .definedBy(
            "dev.flowerjava.internal",
            "dev.flowerjava.internal.compat..",
            "dev.flowerjava.internal.message..",
            "dev.flowerjava.internal.objects..",
            "dev.flowerjava.internal.serde..",
            "dev.flowerjava.internal.security..",
            "dev.flowerjava.internal.proto..")
        .layer("Message API")
        .definedBy("dev.flowerjava.message..", "dev.flowerjava.internal.messageapi..")
        .layer("Client side")
        .definedBy("dev.flowerjava.client..", "dev.flowerjava.internal.client..")
        .layer("Server side")
        .definedBy("dev.flowerjava.server..", "dev.flowerjava.internal.server..")
        .layer("Simulation")
        .definedBy("dev.flowerjava.simulation..", "dev.flowerjava.internal.simulation..")
        .whereLayer("Base")
        .mayNotAccessAnyLayer()
        .whereLayer("Tensor")
        .mayOnlyAccessLayers("Base")
        .whereLayer("Typing")
        .mayOnlyAccessLayers("Base", "Tensor")
        .whereLayer("Shared internals")
        .mayOnlyAccessLayers("Base", "Tensor", "Typing")
        .whereLayer("Message API")
        .mayOnlyAccessLayers("Base", "Tensor", "Typing", "Shared internals")
        .whereLayer("Client side")
        .mayOnlyAccessLayers("Base", "Tensor", "Typing", "Shared internals", "Message API")
        .whereLayer("Server side")
        .mayOnlyAccessLayers("Base", "Tensor", "Typing", "Shared internals")
        .whereLayer("Simulation")
        .mayNotBeAccessedByAnyLayer()
        .check(SDK);
  }

  /**
   * No cycles between the layers, nor between the shared internal packages: each of those is a
   * slice of its own, each side (client, server) is one, and so is the Message API with its
   * internal bridge, and the simulation with its machinery.
   */
  @Test
  void noCyclesBetweenLayersOrSharedPackages() {
    SliceAssignment byLayer =
        new SliceAssignment() {
          @Override
          public SliceIdentifier getIdentifierOf(JavaClass c) {
            String p = c.getPackageName();
            if (p.startsWith("dev.flowerjava.client")
                || p.startsWith("dev.flowerjava.internal.client")) {
              return SliceIdentifier.of("client side");
            }
            if (p.startsWith("dev.flowerjava.message")
                || p.startsWith("dev.flowerjava.internal.messageapi")) {
              return SliceIdentifier.of("message api");
            }
            if (p.startsWith("dev.flowerjava.server")
                || p.startsWith("dev.flowerjava.internal.server")) {
              return SliceIdentifier.of("server side");
            }
            if (p.startsWith("dev.flowerjava.simulation")
                || p.startsWith("dev.flowerjava.internal.simulation")) {
              return SliceIdentifier.of("simulation");
            }
            return p.startsWith("dev.flowerjava")
                ? SliceIdentifier.of(p)
                : SliceIdentifier.ignore();
          }

          @Override
          public String getDescription() {
            return "one slice per layer side and per shared package";
          }
        };
    slices().assignedFrom(byLayer).should().beFreeOfCycles().check(SDK);
  }

  /**
   * The transports of each side sit side by side, one package per wire protocol; the simulation's
   * in-process proxies are the one other kind of {@link ClientProxy}.
   */
  @Test
  void transportsLiveSideBySideNamedForWhatTheyCarry() {
    classes()
        .that()
        .implement(ClientTransport.class)
        .should()
        .resideInAnyPackage(
            "dev.flowerjava.internal.client.grpcbidi", "dev.flowerjava.internal.client.fleet")
        .check(SDK);
    classes()
        .that()
        .implement(ClientProxy.class)
        .should()
        .resideInAnyPackage(
            "dev.flowerjava.internal.server.grpcbidi",
            "dev.flowerjava.internal.server.fleet",
            "dev.flowerjava.internal.simulation")
        .check(SDK);
    for (String side : List.of("client", "server")) {
      String bidi = "dev.flowerjava.internal." + side + ".grpcbidi..";
      String fleet = "dev.flowerjava.internal." + side + ".fleet..";
      noClasses()
          .that()
          .resideInAPackage(bidi)
          .should()
          .dependOnClassesThat()
          .resideInAPackage(fleet)
          .check(SDK);
      noClasses()
          .that()
          .resideInAPackage(fleet)
          .should()
          .dependOnClassesThat()
          .resideInAPackage(bidi)
          .check(SDK);
    }
  }

  @Test
  void everyPackageSaysWhatItIs() throws IOException {
    List<String> missing = new ArrayList<>();
    for (String module :
        List.of(
            "flower-java-sdk",
            "flower-java-server",
            "flower-java-examples",
            "flower-java-benchmarks")) {
      Path src = ROOT.resolve(module).resolve("src/main/java");
      try (Stream<Path> dirs = Files.walk(src)) {
        for (Path dir : dirs.filter(Files::isDirectory).collect(Collectors.toList())) {
          boolean hasJava;
          try (Stream<Path> files = Files.list(dir)) {
            hasJava = files.anyMatch(f -> f.toString().endsWith(".java"));
          }
          if (hasJava && !Files.exists(dir.resolve("package-info.java"))) {
            missing.add(ROOT.relativize(dir).toString());
          }
        }
      }
    }
    assertEquals(List.of(), missing, "packages without a package-info.java");
    try (Stream<Path> files =
        Files.walk(ROOT.resolve("flower-java-sdk/src/main/java/dev/flowerjava/internal"))) {
      for (Path info :
          files.filter(f -> f.endsWith("package-info.java")).collect(Collectors.toList())) {
        assertTrue(
            Pattern.compile("^/\\*\\*\\s*(\\*\\s*)?Not API: ")
                .matcher(Files.readString(info))
                .find(),
            info + " must say \"Not API: \" first");
      }
    }
  }

  /**
   * CONTRIBUTING.md lists every public type of the API, package by package; the list and the code
   * must agree, and stay at 41 types or fewer for the SDK's shape, plus one type per Flower
   * strategy (listed on a line of their own, so users find them by Flower's names), plus at most 10
   * in the Message API's package ({@value #MESSAGE_API}) and at most 5 in the simulation's ({@value
   * #SIMULATION_API}), which have budgets of their own.
   */
  @Test
  void theDocumentedPublicApiIsThePublicApi() throws IOException {
    TreeMap<String, Set<String>> actual = new TreeMap<>();
    for (JavaClass c : SDK) {
      if (isApi(c)
          && c.getModifiers().contains(JavaModifier.PUBLIC)
          && c.isTopLevelClass()
          && !c.getSimpleName().equals("package-info")) {
        actual.computeIfAbsent(c.getPackageName(), k -> new TreeSet<>()).add(c.getSimpleName());
      }
    }
    String doc = Files.readString(ROOT.resolve("CONTRIBUTING.md"));
    Matcher section =
        Pattern.compile("(?s)<!-- public-api -->(.*?)<!-- /public-api -->").matcher(doc);
    assertTrue(section.find(), "CONTRIBUTING.md has no <!-- public-api --> section");
    TreeMap<String, Set<String>> documented = new TreeMap<>();
    Set<String> strategies = new TreeSet<>();
    Matcher line =
        Pattern.compile("(?m)^- `(dev\\.flowerjava[\\w.]*)`: (.*)$").matcher(section.group(1));
    while (line.find()) {
      Matcher name = Pattern.compile("`(\\w+)`").matcher(line.group(2));
      Set<String> names = new TreeSet<>();
      while (name.find()) {
        names.add(name.group(1));
      }
      if (line.group(2).startsWith("Flower's strategies")) {
        strategies.addAll(names);
      }
      documented.computeIfAbsent(line.group(1), k -> new TreeSet<>()).addAll(names);
    }
    assertEquals(actual, documented, "public top-level API types vs CONTRIBUTING.md");
    int messageApi = actual.getOrDefault(MESSAGE_API, Set.of()).size();
    assertTrue(messageApi <= 10, messageApi + " types in " + MESSAGE_API + "; its budget is 10");
    int simulation = actual.getOrDefault(SIMULATION_API, Set.of()).size();
    assertTrue(simulation <= 5, simulation + " types in " + SIMULATION_API + "; its budget is 5");
    int count =
        actual.values().stream().mapToInt(Set::size).sum()
            - strategies.size()
            - messageApi
            - simulation;
    assertTrue(
        count <= 41, count + " public API types besides Flower's strategies; the budget is 41");
    assertTrue(
        strategies.size() <= 16, strategies.size() + " strategy types; Flower has fewer than 16");
  }
}
