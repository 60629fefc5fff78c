package org.peft4j.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.registry.AdapterMethods;

/** Each method option is written once, in code; the README, reference.conf and params --help agree with it. */
class MethodDocsTest {
    private static final Path ROOT = Path.of(System.getProperty("peft4jtest.repo.root", ".."));

    @Test
    void theReadmeTableIsTheRegistrysTable() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String begin = "<!-- method-options:begin -->\n";
        int from = readme.indexOf(begin) + begin.length();
        int to = readme.indexOf("<!-- method-options:end -->");
        assertTrue(from > begin.length() && to > from, "README has the method-options markers");
        assertEquals(AdapterMethods.optionsTable(), readme.substring(from, to));
    }

    @Test
    void referenceConfAndParamsHelpListEveryOptionWithItsDefault() throws Exception {
        String reference;
        try (var in = MethodDocsTest.class.getClassLoader().getResourceAsStream("reference.conf")) {
            reference = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String help = new ParamsCommand().usage();
        int options = 0;
        for (AdapterMethod m : AdapterMethods.ALL) {
            for (MethodOption<?> o : m.options().list()) {
                String conf = "#   " + m.name() + " " + o.key() + " = " + o.defaultText() + "  (" + o.values() + ")\n";
                assertTrue(reference.contains(conf), "reference.conf lacks: " + conf);
                String flag = "--" + o.key().replace('_', '-') + " " + o.values() + " [" + o.defaultText() + "]";
                assertTrue(help.contains(flag), "params --help lacks: " + flag + "\n" + help);
                options++;
            }
        }
        assertEquals(16, options, "every method's options were checked");
    }
}
