export function JoinPage() {
  return (
    <section className="card narrow">
      <h1>Join your practice</h1>
    </section>
  );
}
