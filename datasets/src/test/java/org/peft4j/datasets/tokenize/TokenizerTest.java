package org.peft4j.datasets.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    static final String TEXT = "Héllo, wörld! 数学 ∑ 🙂\r\nline two\ttab";

    @Test
    void byteTokenizerRoundTripsUnicodeWithALeadingBos() {
        ByteTokenizer t = new ByteTokenizer();
        int[] ids = t.encode(TEXT);
        assertEquals(ByteTokenizer.BOS, ids[0]);
        assertEquals(TEXT.getBytes(StandardCharsets.UTF_8).length + 1, ids.length);
        assertEquals(ByteTokenizer.OFFSET + 'H', ids[1]);
        assertEquals(TEXT, t.decode(ids));
        assertArrayEquals(java.util.Arrays.copyOfRange(ids, 1, ids.length), t.encodePlain(TEXT));
    }

    @Test
    void theBuiltinTokenizerJsonTokenizesExactlyLikeByteTokenizerThroughHfTokenizers() {
        ByteTokenizer bytes = new ByteTokenizer();
        try (HfTokenizer hf = HfTokenizer.load(ByteTokenizer.tokenizerJson(), "builtin", 1, 2, 0)) {
            assertArrayEquals(bytes.encode(TEXT), hf.encode(TEXT));
            assertArrayEquals(bytes.encodePlain(TEXT), hf.encodePlain(TEXT));
            assertEquals(TEXT, hf.decode(hf.encode(TEXT)));
            String longText = "abc ".repeat(2000); // longer than any default max length: never truncated
            assertEquals(8001, hf.encode(longText).length);
        }
    }

    @Test
    void aBrokenTokenizerJsonNamesItsSource() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> HfTokenizer.load(
                        "{\"model\": 3}".getBytes(StandardCharsets.UTF_8), "/m/tokenizer.json", 1, 2, 0));
        assertTrue(e.getMessage().startsWith("/m/tokenizer.json: not a loadable tokenizer.json"), e.getMessage());
    }
}
