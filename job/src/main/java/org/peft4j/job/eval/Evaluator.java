package org.peft4j.job.eval;

import java.io.IOException;
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
 * Held-out evaluation on the driver's model with the current averaged adapters: for causal LM, the loss on the
 * responses and the task score of greedy generations (commonsense: label match; GSM8K/MetaMath: the number; GLUE:
 * its metric); for a sequence head, the GLUE metric of its predictions.
 */
public final class Evaluator {
    private static final int ROWS = 8;

    private Evaluator() {}

    /** Evaluates on {@code data.eval.path}. */
    public static Map<String, Object> evaluate(Worker w, JobConfig c) throws IOException {
        return evaluate(w, c, EvalRecords.fromFile(c));
    }

    /**
     * Evaluates on {@code records} (a file's, or those {@code data.eval.split} held out), scored as
     * {@code data.eval.dataset} says; generation with {@code eval.num_beams} beams and
     * {@code eval.max_new_tokens} (by default 32, or 256 for math) new tokens.
     */
    public static Map<String, Object> evaluate(Worker w, JobConfig c, EvalRecords eval) {
        String dataset = c.data().evalDataset();
        LlamaModel model = w.model().model();
        Tokenizer tok = w.model().tokenizer();
        Map<String, Object> out = new LinkedHashMap<>();
        if (c.data().sequenceTask()) {
            GlueTask task = GlueTask.ofDataset(dataset);
            List<GlueRecord> records = eval.glue();
            ExampleTokenizer et =
                    new ExampleTokenizer(tok, PromptTemplate.ALPACA, c.data().maxLength());
            double[] pred = new double[records.size()];
            double[] gold = new double[records.size()];
            for (int s = 0; s < records.size(); s += ROWS) {
                List<TokenizedExample> ex = new ArrayList<>();
                for (GlueRecord r : records.subList(s, Math.min(records.size(), s + ROWS))) {
                    ex.add(et.sequence(r));
                }
                INDArray logits =
                        model.sequenceLogits(BatchPlan.toTokenBatch(Batcher.pad(ex, 1, tok.padId())), w.head());
                for (int i = 0; i < ex.size(); i++) {
                    pred[s + i] = task.regression()
                            ? logits.getDouble(i, 0)
                            : logits.getRow(i).argMax().getDouble(0);
                    gold[s + i] = records.get(s + i).target();
                }
            }
            out.put("eval_records", records.size());
            GlueMetrics.compute(task, pred, gold).forEach((k, v) -> out.put("eval_" + k, v));
            return out;
        }
        List<InstructionRecord> records = eval.instructions();
        PromptTemplate template = PromptTemplate.named(c.data().template());
        ExampleTokenizer et = new ExampleTokenizer(
                tok, template, c.data().maxLength(), c.data().trainOnInputs());
        LossSum loss = LossSum.ZERO;
        int correct = 0;
        for (int s = 0; s < records.size(); s += ROWS) {
            List<InstructionRecord> chunk = records.subList(s, Math.min(records.size(), s + ROWS));
            List<TokenizedExample> ex = new ArrayList<>();
            int[][] prompts = new int[chunk.size()][];
            for (int i = 0; i < chunk.size(); i++) {
                ex.add(et.causal(chunk.get(i)));
                prompts[i] = tok.encode(template.prompt(chunk.get(i)));
            }
            loss = loss.plus(model.causalLm(BatchPlan.toTokenBatch(Batcher.pad(ex, 1, tok.padId())), false));
            int[][] generated = model.generate(
                    prompts,
                    c.eval().maxNewTokens(dataset),
                    tok.eosId(),
                    c.eval().numBeams());
            for (int i = 0; i < chunk.size(); i++) {
                correct +=
                        correct(dataset, tok.decode(generated[i]), chunk.get(i).answer()) ? 1 : 0;
            }
        }
        out.put("eval_records", records.size());
        out.put("eval_loss", loss.mean());
        out.put("eval_accuracy", records.isEmpty() ? Double.NaN : (double) correct / records.size());
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
