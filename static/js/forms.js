// Progress on anything slow: a submit button with data-busy shows that text and cannot be pressed twice.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button || !button.dataset.busy) return;
  setTimeout(() => { button.disabled = true; button.textContent = button.dataset.busy; }, 0);
});
