package org.peft4j.adapters.model.llama;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Beam search as transformers 5's {@code generate} runs it with {@code num_beams > 1}, {@code do_sample=False},
 * {@code early_stopping=False}: each step keeps the top K = max(2, 1 + #eos) * num_beams continuations of all beams;
 * the best num_beams of those that do not stop continue; those among the top num_beams that stop (an EOS, or the
 * length limit) enter the finished pool with their summed log-probability divided by generated length ^
 * length_penalty; the search ends when no running beam can beat the worst finished one (transformers' heuristic) or
 * every continuation stops. The model is behind {@link Step}, so the bookkeeping is tested on its own.
 */
final class BeamSearch {
    private static final double MASKED = -1.0e9;

    /** The model seen from the search. */
    interface Step {
        /** Log-probabilities (beams x vocab) of the next token of each running beam, given its last token. */
        double[][] next(int[] lastTokens);

        /** The running beams become these (indices of the previous running beams), before the next call. */
        void reorder(int[] sourceBeams);
    }

    private record Candidate(int beam, int token, double score, int rank) {}

    private record Finished(List<Integer> tokens, double score) {}

    private BeamSearch() {}

    /**
     * @param firstLogProbs the prompt's next-token log-probabilities (one row: every beam starts from the prompt)
     * @return the generated tokens of the best finished hypothesis (with its stop token, if it stopped on one)
     */
    static int[] run(
            double[] firstLogProbs,
            int numBeams,
            int maxNewTokens,
            Set<Integer> stops,
            double lengthPenalty,
            Step step) {
        int vocab = firstLogProbs.length;
        int keep = Math.max(2, 1 + stops.size()) * numBeams;
        List<List<Integer>> running = new ArrayList<>();
        double[] runScores = new double[numBeams];
        double[][] logProbs = new double[numBeams][];
        for (int b = 0; b < numBeams; b++) {
            running.add(new ArrayList<>());
            runScores[b] = b == 0 ? 0 : MASKED;
            logProbs[b] = firstLogProbs;
        }
        Finished[] finished = new Finished[numBeams];
        Arrays.fill(finished, new Finished(List.of(), MASKED));
        boolean[] slotDone = new boolean[numBeams];
        boolean improvable = true;
        for (int generated = 0; generated < maxNewTokens; generated++) {
            List<Candidate> top = topK(logProbs, runScores, vocab, keep);
            boolean atLimit = generated + 1 >= maxNewTokens;
            boolean allStop = true;
            boolean[] stops2 = new boolean[top.size()];
            for (int i = 0; i < top.size(); i++) {
                stops2[i] = atLimit || stops.contains(top.get(i).token());
                allStop &= stops2[i];
            }
            // The best num_beams candidates that do not stop continue (stopping ones only if too few do not).
            Integer[] order = new Integer[top.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            double[] runningScore = new double[top.size()];
            for (int i = 0; i < top.size(); i++) {
                runningScore[i] = top.get(i).score() + (stops2[i] ? MASKED : 0);
            }
            Arrays.sort(
                    order,
                    Comparator.comparingDouble((Integer i) -> -runningScore[i]).thenComparingInt(i -> i));
            List<List<Integer>> nextRunning = new ArrayList<>();
            int[] sources = new int[numBeams];
            double[] nextScores = new double[numBeams];
            for (int b = 0; b < numBeams; b++) {
                Candidate c = top.get(order[b]);
                List<Integer> seq = new ArrayList<>(running.get(c.beam()));
                seq.add(c.token());
                nextRunning.add(seq);
                sources[b] = c.beam();
                nextScores[b] = runningScore[order[b]];
            }
            // Stopping candidates among the top num_beams enter the finished pool, while improvement is possible.
            List<Finished> pool = new ArrayList<>(Arrays.asList(finished));
            List<Boolean> poolDone = new ArrayList<>();
            for (boolean d : slotDone) {
                poolDone.add(d);
            }
            for (int i = 0; i < top.size(); i++) {
                Candidate c = top.get(i);
                boolean enters = stops2[i] && c.rank() < numBeams && improvable;
                List<Integer> seq = new ArrayList<>(running.get(c.beam()));
                seq.add(c.token());
                double s = enters ? c.score() / Math.pow(generated + 1, lengthPenalty) : MASKED;
                pool.add(new Finished(seq, s));
                poolDone.add(enters);
            }
            Integer[] best = new Integer[pool.size()];
            for (int i = 0; i < best.length; i++) {
                best[i] = i;
            }
            Arrays.sort(
                    best,
                    Comparator.comparingDouble((Integer i) -> -pool.get(i).score())
                            .thenComparingInt(i -> i));
            for (int b = 0; b < numBeams; b++) {
                finished[b] = pool.get(best[b]);
                slotDone[b] = poolDone.get(best[b]);
            }
            running = nextRunning;
            runScores = nextScores;
            // transformers' heuristic (early_stopping=False): the best running beam at its current length against
            // the worst finished hypothesis, once every slot is finished.
            double bestPossible = runScores[0] / Math.pow(generated + 1, lengthPenalty);
            boolean allSlotsDone = true;
            double worst = Double.POSITIVE_INFINITY;
            for (int b = 0; b < numBeams; b++) {
                allSlotsDone &= slotDone[b];
                worst = Math.min(worst, finished[b].score());
            }
            improvable &= !allSlotsDone || bestPossible > worst;
            if (!improvable || allStop) {
                break;
            }
            step.reorder(sources);
            int[] last = new int[numBeams];
            for (int b = 0; b < numBeams; b++) {
                List<Integer> seq = running.get(b);
                last[b] = seq.get(seq.size() - 1);
            }
            logProbs = step.next(last);
        }
        return finished[0].tokens().stream().mapToInt(Integer::intValue).toArray();
    }

    /** The top {@code k} of beam score + log-probability over every (beam, token), best first. */
    private static List<Candidate> topK(double[][] logProbs, double[] runScores, int vocab, int k) {
        List<Candidate> all = new ArrayList<>(logProbs.length * vocab);
        for (int b = 0; b < logProbs.length; b++) {
            for (int v = 0; v < vocab; v++) {
                all.add(new Candidate(b, v, logProbs[b][v] + runScores[b], 0));
            }
        }
        all.sort(Comparator.comparingDouble((Candidate c) -> -c.score())
                .thenComparingInt(c -> c.beam() * vocab + c.token()));
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < Math.min(k, all.size()); i++) {
            Candidate c = all.get(i);
            out.add(new Candidate(c.beam(), c.token(), c.score(), i));
        }
        return out;
    }
}
