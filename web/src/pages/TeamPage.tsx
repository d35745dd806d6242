export function TeamPage() {
  return (
    <section className="card narrow">
      <h1>Team</h1>
    </section>
  );
}
