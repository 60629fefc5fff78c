package org.peft4j.tests;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The architecture the README draws, checked on the compiled main classes: modules depend one way, no package cycle,
 * a method lives in its own package (core and job name none), linalg sits below core, and no main file passes 400
 * lines.
 */
class ArchitectureTest {
    private static final String[] METHOD_PACKAGES = {
        "org.peft4j.adapters.lora..",
        "org.peft4j.adapters.lamda..",
        "org.peft4j.adapters.lamdapp..",
        "org.peft4j.adapters.neat.."
    };
    static JavaClasses main;

    @BeforeAll
    static void load() {
        // The modules come as jars or class folders; the job's test-jar (shared test helpers) is not main code.
        main = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("org.peft4j.adapters", "org.peft4j.datasets", "org.peft4j.job");
        for (String c : List.of(
                "org.peft4j.adapters.core.AdapterSet",
                "org.peft4j.adapters.lora.LoraMethod",
                "org.peft4j.datasets.batch.Batcher",
                "org.peft4j.job.rounds.RoundLoop")) {
            assertTrue(main.contain(c), "the rules see " + c);
        }
        assertTrue(!main.contain("org.peft4j.job.testing.AdapterStates"), "test helpers are not main code");
    }

    @Test
    void modulesDependOneWay() {
        noClasses()
                .that()
                .resideInAPackage("org.peft4j.adapters..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.peft4j.datasets..", "org.peft4j.job..")
                .check(main);
        noClasses()
                .that()
                .resideInAPackage("org.peft4j.datasets..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.peft4j.adapters..", "org.peft4j.job..")
                .check(main);
    }

    @Test
    void noPackageCycles() {
        for (String module : List.of("adapters", "datasets", "job")) {
            slices().matching("org.peft4j." + module + ".(*)..")
                    .should()
                    .beFreeOfCycles()
                    .check(main);
        }
    }

    @Test
    void methodsLiveInTheirOwnPackages() {
        noClasses()
                .that()
                .resideInAnyPackage("org.peft4j.adapters.core..", "org.peft4j.job..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(METHOD_PACKAGES)
                .check(main);
        noClasses()
                .that()
                .resideInAPackage("org.peft4j.adapters.linalg..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("org.peft4j.adapters.core..")
                .check(main);
    }

    @Test
    void noMainSourceFileIsOver400Lines() throws Exception {
        List<String> long_;
        try (Stream<Path> files = Files.walk(Commands.ROOT)) {
            long_ = files.filter(
                            p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/"))
                    .filter(p -> !p.toString().contains("/target/"))
                    .filter(ArchitectureTest::over400)
                    .map(p -> Commands.ROOT.relativize(p).toString())
                    .toList();
        }
        assertEquals(List.of(), long_, "main source files over 400 lines");
    }

    private static boolean over400(Path p) {
        try {
            return Files.readAllLines(p).size() > 400;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
