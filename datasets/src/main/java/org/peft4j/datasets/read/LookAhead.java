package org.peft4j.datasets.read;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An iterator that reads one element ahead: a subclass says how to get the next element, or null at the end, and
 * this class does the bookkeeping every streaming reader needs (like Guava's {@code AbstractIterator}).
 */
public abstract class LookAhead<T> implements Iterator<T> {
    private T next;
    private boolean ended;

    /** The next element, or null when there is none; may throw for a bad record (a later call tries again). */
    protected abstract T computeNext();

    @Override
    public final boolean hasNext() {
        if (next == null && !ended) {
            next = computeNext();
            ended = next == null;
        }
        return next != null;
    }

    @Override
    public final T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        T t = next;
        next = null;
        return t;
    }
}
