package dev.flowerjava.examples;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The examples are what users copy: they use the SDK's public API and nothing under it. */
class ExamplesUseOnlyTheApiTest {
  private static final JavaClasses EXAMPLES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.flowerjava.examples");

  @Test
  void examplesDoNotUseInternalOrGeneratedTypes() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.flowerjava.internal..", "io.grpc..", "com.google.protobuf..")
        .check(EXAMPLES);
  }
}
