/**
 * Dataset side of the token-id seam: readers for Commonsense170K, MetaMathQA and GLUE, prompt templates, tokenisation,
 * batching, sharding and scoring. Nothing here knows model internals, and nothing in {@code adapters} sees text.
 * (Readers and scorers arrive with the datasets issue.)
 */
package org.peft4j.datasets;
