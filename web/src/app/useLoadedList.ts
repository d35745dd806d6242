// A list loaded when the component mounts and again on demand, with the error in words. The
// "live" flag keeps an answer that arrives after unmounting from touching state.
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "./usePagedList";

export function useLoadedList<T>(fetchList: () => Promise<T[]>): {
  items: T[] | null;
  problem: string | null;
  setProblem: (problem: string | null) => void;
  reload: () => Promise<void>;
} {
  const [items, setItems] = useState<T[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const reload = useCallback(async (): Promise<void> => {
    try {
      setItems(await fetchList());
    } catch (error) {
      setProblem(errorMessage(error));
    }
  }, [fetchList]);

  useEffect(() => {
    let live = true;
    fetchList().then(
      (list) => {
        if (live) setItems(list);
      },
      (error: unknown) => {
        if (live) setProblem(errorMessage(error));
      },
    );
    return () => {
      live = false;
    };
  }, [fetchList]);

  return { items, problem, setProblem, reload };
}
