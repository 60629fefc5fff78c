package org.peft4j.adapters.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.model.TokenBatch;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.LlamaWeights;
import org.peft4j.adapters.optim.AdamW;
import org.peft4j.adapters.registry.AdapterMethods;
import org.peft4j.adapters.train.LocalTrainer;

/**
 * A training step of a whole LLaMA-shaped model on synthetic tokens, timed the way the peers
 * ({@code ../shared/peer/hf_peft_bench.py}, {@code torch_llama_bench.py}) time it: same shapes, same FLOP count, best
 * step. MFU is the best step against the best GEMM rate (fp32, or bf16 for a bf16 model) of a 2048^3 product probed
 * before the first step and after every step: on a shared VM the rate of a few products dips 2-3x for a moment
 * (probes between bf16 steps read 769-2,074 GFLOP/s while the steps took 2.1-2.6 s), and a single probe at the start
 * had put the same step's MFU anywhere from 27% to 73%; best against best gave 26% in both of two runs. Run one method
 * per process so that peak RSS is its own.
 */
public final class ModelBench {
    private ModelBench() {}

    /**
     * The synthetic configuration; {@link #ffn} 0 means the peer's default 8d/3 rounded down to 64. {@code model},
     * when not null, is a real model's config.json (LLaMA-2-7B, say) whose dimensions replace d, ffn, layers, heads,
     * kv-heads and vocab: random weights of that shape are built in memory.
     */
    public record Shape(
            LlamaConfig model,
            int d,
            int ffn,
            int layers,
            int heads,
            int kvHeads,
            int vocab,
            int seq,
            int batch,
            int rank,
            List<String> targets,
            double scored) {
        /**
         * @param scored the fraction of each sequence's tokens the loss scores, its last ones (a prompt masked before
         *     them, as with {@code data.train_on_inputs = false}); 1: every token, as the peer
         */
        public Shape {
            if (!(scored > 0 && scored <= 1)) {
                throw new IllegalArgumentException(
                        "scored: the fraction of tokens scored must be in (0, 1], found " + scored);
            }
            if (scored < 1 && seq - promptLength(seq, scored) < 2) {
                throw new IllegalArgumentException("scored: " + scored + " of a " + seq + "-token sequence leaves no"
                        + " token for the loss to score");
            }
        }

        /** This shape with a real model's dimensions. */
        public Shape of(LlamaConfig c) {
            return new Shape(
                    c,
                    c.hiddenSize(),
                    c.intermediateSize(),
                    c.numHiddenLayers(),
                    c.numAttentionHeads(),
                    c.numKeyValueHeads(),
                    c.vocabSize(),
                    seq,
                    batch,
                    rank,
                    targets,
                    scored);
        }

        /** The positions of a sequence whose labels are masked: all but the last {@link #scored} of them. */
        int promptLength() {
            return promptLength(seq, scored);
        }

        private static int promptLength(int seq, double scored) {
            return (int) Math.round(seq * (1 - scored));
        }

        public int ffnOrDefault() {
            return ffn > 0 ? ffn : (int) (8.0 * d / 3) / 64 * 64;
        }

        public int kvHeadsOrDefault() {
            return kvHeads > 0 ? kvHeads : heads;
        }

        LlamaConfig config() {
            if (model != null) {
                return model;
            }
            return LlamaConfig.llama(
                    d,
                    ffnOrDefault(),
                    layers,
                    heads,
                    kvHeadsOrDefault(),
                    d / heads,
                    vocab,
                    false,
                    1e-5,
                    10000.0,
                    Math.max(seq, 2048));
        }

        /**
         * Model FLOPs of one step as the peer counts them: backward of frozen weights ~ one more forward. With fewer
         * than every token scored, the LM head's only for the scored ones, as only those go through it.
         */
        double flops(boolean train) {
            int hd = d / heads;
            int kv = kvHeadsOrDefault();
            double tokens = (double) batch * seq;
            double linear = (double) layers
                    * ((double) d * heads * hd * 2 + (double) d * kv * hd * 2 + 3.0 * d * ffnOrDefault());
            double attention = (double) layers * 2 * batch * (double) seq * seq * d;
            double headRows = (double) batch * (seq - promptLength());
            double forward = 2 * tokens * linear + 2 * headRows * d * vocab + 2 * attention;
            return forward * (train ? 2 : 1);
        }
    }

    public record Result(
            String method,
            String dtype,
            String gemm,
            double tokensPerSecond,
            double stepSeconds,
            long trainable,
            double peakRssMb,
            double gemmGflops,
            double mfu) {}

    /**
     * @param method none (forward only), lora, lamda, lamda-frozen-b or neat
     * @param storage FLOAT, or BFLOAT16 for the embedding, linears and head (model.dtype = bfloat16)
     */
    public static Result run(Shape s, String method, int steps, DataType storage) throws IOException {
        // The probe's operands before the model: at a 7B model's native cap, operands allocated after the steps were
        // what crossed it (a LaMDA run whose steps had fit stopped there).
        AdapterBench.GemmProbe probe = new AdapterBench.GemmProbe(2048, 2048, 2048, storage);
        Trainee t = Trainee.of(s, method, storage);
        t.step(0); // warm-up: buffers, primitives
        double rate = probe.rate(PROBE_REPS);
        double dt = Double.MAX_VALUE; // the best step, as the peers report theirs
        for (int i = 0; i < steps; i++) {
            dt = Math.min(dt, t.step(1 + i));
            rate = Math.max(rate, probe.rate(PROBE_REPS));
        }
        long trainable = t.trainer() == null ? 0 : t.trainer().adapters().trainableCount();
        return new Result(
                method,
                dtypeName(storage),
                org.peft4j.adapters.linalg.Blas.backend().name(),
                t.batch().rows() * (double) t.batch().length() / dt,
                dt,
                trainable,
                peakRssMb(),
                rate,
                s.flops(t.trainer() != null) / dt / 1e9 / rate);
    }

    /** Products per rate probe: at 2048^3 about 7 ms each in bf16 with AMX, 60 ms in fp32, on two cores. */
    private static final int PROBE_REPS = 3;

    /** The storage type as the results name it (transformers' dtype names). */
    static String dtypeName(DataType storage) {
        return storage == DataType.BFLOAT16 ? "bfloat16" : "float32";
    }

    /** A model of the shape with the method's adapters (none: no trainer) and its synthetic batch. */
    record Trainee(LlamaModel model, LocalTrainer trainer, TokenBatch batch, long first) {
        static Trainee of(Shape s, String method, DataType storage) {
            LlamaModel model = new LlamaModel(LlamaWeights.random(s.config(), 1, storage));
            LocalTrainer trainer = null;
            long first = 0;
            if (!method.equals("none")) {
                String m = method.equals("lamda-frozen-b") ? "lamda" : method;
                AdapterSet set = AdapterInjector.inject(
                        model.linears(), AdapterMethods.spec(m, s.rank(), null, s.targets(), 0, Map.of()));
                if (method.equals("lamda-frozen-b")) {
                    set.setTotalSteps(1); // t_f = 1: every row of B is frozen from step 1 on
                    first = 1;
                } else {
                    set.setTotalSteps(1_000_000); // B stays trainable during the measured steps
                }
                trainer = new LocalTrainer(model, set, null, AdamW.defaults());
            }
            SplittableRandom rng = new SplittableRandom(0);
            int n = s.batch() * s.seq();
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = rng.nextInt(s.vocab());
            }
            int[] mask = new int[n];
            Arrays.fill(mask, 1);
            int[] labels = ids.clone();
            for (int r = 0; r < s.batch(); r++) {
                Arrays.fill(labels, r * s.seq(), r * s.seq() + s.promptLength(), TokenBatch.IGNORE);
            }
            return new Trainee(model, trainer, new TokenBatch(s.batch(), s.seq(), ids, mask, labels, null), first);
        }

        /** Step {@code i} after the first (a training step, or a forward pass for none); its seconds. */
        double step(long i) {
            long t = System.nanoTime();
            if (trainer == null) {
                model.causalLm(batch, false);
            } else {
                trainer.step(batch, first + i, 1e-4);
            }
            return (System.nanoTime() - t) / 1e9;
        }
    }

    /** The process's peak resident set (VmHWM), as the peer's ru_maxrss; NaN where /proc is missing. */
    public static double peakRssMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return Double.NaN;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
