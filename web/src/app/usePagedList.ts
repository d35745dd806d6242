import { useCallback, useEffect, useState } from "react";
import { ApiError } from "../api/client";

interface Page<T> {
  items: T[];
  next_before: number | null;
}

interface Loaded<Q, T> {
  query: Q;
  items: T[];
  next: number | null;
  error: unknown;
  loadingMore: boolean;
}

export interface PagedList<T> {
  /** True while the first page for the current query is on its way. */
  loading: boolean;
  loadingMore: boolean;
  items: T[];
  hasMore: boolean;
  error: unknown;
  loadMore: () => void;
}

/**
 * A keyset-paginated list for `query` (a state value: a new object means "load again").
 * `load` must be a stable function, such as a module-level fetcher. Answers to a query the
 * page has since moved on from are dropped.
 */
export function usePagedList<Q, T>(query: Q, load: (query: Q, before: number | null) => Promise<Page<T>>): PagedList<T> {
  const [loaded, setLoaded] = useState<Loaded<Q, T> | null>(null);

  useEffect(() => {
    let live = true;
    load(query, null).then(
      (page) => {
        if (live) setLoaded({ query, items: page.items, next: page.next_before, error: null, loadingMore: false });
      },
      (error: unknown) => {
        if (live) setLoaded({ query, items: [], next: null, error, loadingMore: false });
      },
    );
    return () => {
      live = false;
    };
  }, [query, load]);

  const loadMore = useCallback(() => {
    if (loaded === null || loaded.next === null || loaded.loadingMore) return;
    const current = loaded;
    const same = (prev: Loaded<Q, T> | null): prev is Loaded<Q, T> => prev !== null && prev.query === current.query;
    setLoaded({ ...current, loadingMore: true, error: null });
    load(current.query, current.next).then(
      (page) => {
        setLoaded((prev) =>
          same(prev)
            ? { ...prev, items: [...prev.items, ...page.items], next: page.next_before, loadingMore: false }
            : prev,
        );
      },
      (error: unknown) => {
        setLoaded((prev) => (same(prev) ? { ...prev, error, loadingMore: false } : prev));
      },
    );
  }, [loaded, load]);

  const current = loaded !== null && loaded.query === query ? loaded : null;
  return {
    loading: current === null,
    loadingMore: current?.loadingMore ?? false,
    items: current?.items ?? [],
    hasMore: current !== null && current.next !== null,
    error: current?.error ?? null,
    loadMore,
  };
}

/** The status code of a failed request, or null for anything else (offline, bad answer). */
export function errorStatus(error: unknown): number | null {
  return error instanceof ApiError ? error.status : null;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError && error.code !== "unexpected" && error.code !== "invalid_response") {
    return error.message;
  }
  if (error instanceof ApiError) return "The server gave an unexpected answer. Try again in a moment.";
  return "The server could not be reached just now. Check your connection and try again.";
}
