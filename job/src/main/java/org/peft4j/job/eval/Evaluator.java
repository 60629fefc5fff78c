package org.peft4j.job.eval;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.adapters.model.LossSum;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.datasets.batch.Batcher;
import org.peft4j.datasets.batch.ExampleTokenizer;
import org.peft4j.datasets.batch.TokenizedExample;
import org.peft4j.datasets.commonsense.CommonsenseTask;
import org.peft4j.datasets.glue.GlueMetrics;
import org.peft4j.datasets.glue.GlueRecord;
import org.peft4j.datasets.glue.GlueTask;
import org.peft4j.datasets.math.MathAnswer;
import org.peft4j.datasets.prompt.PromptTemplate;
import org.peft4j.datasets.record.InstructionRecord;
import org.peft4j.datasets.tokenize.Tokenizer;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.worker.BatchPlan;
import org.peft4j.job.worker.Worker;

/**
 * Held-out evaluation with the current averaged adapters: for causal LM, the loss on the responses and the task score
 * of generations (commonsense: label match; GSM8K/MetaMath: the number; GLUE: its metric); for a sequence head, the
 * GLUE metric of its predictions. The records are scored in chunks of {@value #ROWS}, in one process or spread over
 * the executors ({@code rounds.EvalStep}); the metrics add the chunks up in order, so both give the same numbers.
 */
public final class Evaluator {
    private static final int ROWS = 8;

    private Evaluator() {}

    /**
     * Evaluates on {@code records} (a file's, or those {@code data.eval.split} held out) in this process, chunk after
     * chunk; the Spark job spreads the same chunks over the executors and gets the same numbers.
     */
    public static Map<String, Object> evaluate(Worker w, JobConfig c, EvalRecords eval) {
        List<Chunk> chunks = new ArrayList<>();
        for (int k = 0; k < chunks(eval); k++) {
            chunks.add(chunk(w, c, eval, k));
        }
        return metrics(c, eval, chunks);
    }

    /**
     * One chunk's scores, all a metric needs: the response loss summed (causal LM), the generations judged correct,
     * or the predictions and gold values (sequence head).
     */
    public record Chunk(double lossSum, long lossCount, int correct, double[] pred, double[] gold)
            implements Serializable {}

    /** Chunks of {@value #ROWS} records: the unit of a batch and of the executors' share. */
    public static int chunks(EvalRecords eval) {
        return (eval.size() + ROWS - 1) / ROWS;
    }

    /**
     * Scores chunk {@code k} of {@code eval} as {@code data.eval.dataset} says: generation with {@code eval.num_beams}
     * beams and {@code eval.max_new_tokens} (by default 32, or 256 for math) new tokens.
     */
    public static Chunk chunk(Worker w, JobConfig c, EvalRecords eval, int k) {
        String dataset = c.data().evalDataset();
        LlamaModel model = w.model().model();
        Tokenizer tok = w.model().tokenizer();
        int s = k * ROWS;
        if (c.data().sequenceTask()) {
            GlueTask task = GlueTask.ofDataset(dataset);
            List<GlueRecord> records =
                    eval.glue().subList(s, Math.min(eval.glue().size(), s + ROWS));
            ExampleTokenizer et =
                    new ExampleTokenizer(tok, PromptTemplate.ALPACA, c.data().maxLength());
            List<TokenizedExample> ex = new ArrayList<>();
            for (GlueRecord r : records) {
                ex.add(et.sequence(r));
            }
            INDArray logits = model.sequenceLogits(BatchPlan.toTokenBatch(Batcher.pad(ex, 1, tok.padId())), w.head());
            double[] pred = new double[ex.size()];
            double[] gold = new double[ex.size()];
            for (int i = 0; i < ex.size(); i++) {
                pred[i] = task.regression()
                        ? logits.getDouble(i, 0)
                        : logits.getRow(i).argMax().getDouble(0);
                gold[i] = records.get(i).target();
            }
            return new Chunk(0, 0, 0, pred, gold);
        }
        List<InstructionRecord> chunk =
                eval.instructions().subList(s, Math.min(eval.instructions().size(), s + ROWS));
        PromptTemplate template = PromptTemplate.named(c.data().template());
        ExampleTokenizer et = new ExampleTokenizer(
                tok, template, c.data().maxLength(), c.data().trainOnInputs());
        List<TokenizedExample> ex = new ArrayList<>();
        int[][] prompts = new int[chunk.size()][];
        for (int i = 0; i < chunk.size(); i++) {
            ex.add(et.causal(chunk.get(i)));
            prompts[i] = tok.encode(template.prompt(chunk.get(i)));
        }
        LossSum loss = model.causalLm(BatchPlan.toTokenBatch(Batcher.pad(ex, 1, tok.padId())), false);
        int[][] generated = model.generate(
                prompts, c.eval().maxNewTokens(dataset), tok.eosId(), c.eval().numBeams());
        int correct = 0;
        for (int i = 0; i < chunk.size(); i++) {
            correct += correct(dataset, tok.decode(generated[i]), chunk.get(i).answer()) ? 1 : 0;
        }
        return new Chunk(loss.sum(), loss.count(), correct, new double[0], new double[0]);
    }

    /** The metrics of every chunk's scores, given in chunk order (sums in that order: the same bits everywhere). */
    public static Map<String, Object> metrics(JobConfig c, EvalRecords eval, List<Chunk> chunks) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("eval_records", eval.size());
        if (c.data().sequenceTask()) {
            double[] pred = new double[eval.size()];
            double[] gold = new double[eval.size()];
            int n = 0;
            for (Chunk ch : chunks) {
                System.arraycopy(ch.pred(), 0, pred, n, ch.pred().length);
                System.arraycopy(ch.gold(), 0, gold, n, ch.gold().length);
                n += ch.pred().length;
            }
            GlueMetrics.compute(GlueTask.ofDataset(c.data().evalDataset()), pred, gold)
                    .forEach((k, v) -> out.put("eval_" + k, v));
            return out;
        }
        LossSum loss = LossSum.ZERO;
        int correct = 0;
        for (Chunk ch : chunks) {
            loss = loss.plus(new LossSum(ch.lossSum(), ch.lossCount()));
            correct += ch.correct();
        }
        out.put("eval_loss", loss.mean());
        out.put("eval_accuracy", eval.size() == 0 ? Double.NaN : (double) correct / eval.size());
        return out;
    }

    static boolean correct(String dataset, String generated, String answer) {
        if (dataset.equals("commonsense")) {
            for (CommonsenseTask t : CommonsenseTask.values()) {
                if (t.labels().contains(answer)) {
                    return t.extract(generated).equals(answer);
                }
            }
            return generated.strip().startsWith(answer);
        }
        if (dataset.equals("gsm8k") || dataset.equals("metamath")) {
            Double gold = MathAnswer.parse(answer);
            return gold != null && MathAnswer.correct(generated, gold);
        }
        GlueTask task = GlueTask.ofDataset(dataset);
        if (task.regression()) {
            Double gold = MathAnswer.parse(answer);
            return gold != null && Math.abs(GlueMetrics.fromGenerated(task, generated) - gold) < 0.5;
        }
        return GlueMetrics.fromGenerated(task, generated) == task.labels().indexOf(answer);
    }
}
