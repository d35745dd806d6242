export function VerifyPage() {
  return (
    <section className="card narrow">
      <h1>Verify keys</h1>
    </section>
  );
}
