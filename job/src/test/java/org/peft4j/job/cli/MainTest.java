package org.peft4j.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MainTest {
    private record Result(int code, String out, String err) {}

    private static Result run(String... argv) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = Main.run(
                List.of(argv),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpAndUnknownCommands() {
        assertEquals(0, run("--help").code());
        assertTrue(run("--help").out().contains("params"));
        Result unknown = run("trian");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown command 'trian'"), unknown.err());
        assertEquals(0, run("params", "--help").code());
    }

    @Test
    void argsReadDashesAsUnderscoresAndRejectLeftovers() {
        Args a = Args.parse(List.of("--freeze-fraction", "0.5", "--json", "--rank=8"), java.util.Set.of("json"));
        assertEquals("0.5", a.get("freeze_fraction", null));
        assertEquals(8, a.integer("rank", 0));
        assertTrue(a.flag("json"));
        a.finish();
        Args left = Args.parse(List.of("--rnak", "8"), java.util.Set.of());
        left.integer("rank", 0);
        var e = org.junit.jupiter.api.Assertions.assertThrows(Args.UsageException.class, left::finish);
        assertEquals("unknown option --rnak (did you mean --rank?)", e.getMessage());
        var bad = org.junit.jupiter.api.Assertions.assertThrows(
                Args.UsageException.class,
                () -> Args.parse(List.of("--rank", "x"), java.util.Set.of()).integer("rank", 0));
        assertEquals("option --rank: expected an integer, found 'x'", bad.getMessage());
    }
}
