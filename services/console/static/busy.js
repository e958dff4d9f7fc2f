// A form that starts long work (<form data-busy="id-of-a-note">): once sent, its note says the work is under way
// and its buttons cannot send it a second time. Without scripts the form works the same, without the note.
(function () {
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => {
      const note = document.getElementById(form.dataset.busy);
      if (note) note.hidden = false;
      setTimeout(() => form.querySelectorAll("button").forEach((button) => (button.disabled = true)), 0);
    });
  });
})();
