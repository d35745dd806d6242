export function ResetPasswordPage() {
  return (
    <section className="card narrow">
      <h1>Choose a new password</h1>
    </section>
  );
}
